"""prepare: builds generated sources, then subsets; the CLI prints summaries and one-line errors."""
import shutil

import pytest

from jaxrobust import errors
from jaxrobust.datasets import build
from jaxrobust.datasets import subsets
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import prepare as prepare_lib
from tests.helpers.forked_cli import run_main_many
from tests.helpers.subsets import TOY, spec


def needs(subset_spec):
  return [{'name': TOY, 'subset': None},
          {'name': subsets.subset_name(subset_spec), 'subset': subset_spec}]


def test_prepare_generates_sources_then_materializes_subsets(tmp_path):
  data_dir = str(tmp_path)
  done = build.build_datasets(needs(spec(num_examples=30)), data_dir)
  assert [(p.action, p.num_examples) for p in done] == [('generated', 312), ('materialized', 30)]
  again = build.build_datasets(needs(spec(num_examples=30)), data_dir)
  assert [p.action for p in again] == ['ready', 'ready']
  assert 'materialized' in build.summary_table(done)


def test_prepare_builds_what_the_study_plan_reads(tmp_path, monkeypatch):
  wanted = needs(spec(num_classes=2, images_per_class=3))
  monkeypatch.setattr(plan_lib, 'plan_study', lambda config: [config['study']])
  monkeypatch.setattr(plan_lib, 'datasets_needed',
                      lambda plan: wanted if plan == ['fake'] else [])
  done = prepare_lib.prepare_study({'study': 'fake'}, str(tmp_path))
  assert [p.name for p in done] == [TOY, wanted[1]['name']]


def test_manual_dataset_without_its_files_says_where_they_go(tmp_path):
  with pytest.raises(errors.DatasetNotBuiltError, match='toy_manual needs its manual download: '
                                                        'Put toy_manual.zip in the manual dir'):
    build.build_datasets([{'name': 'toy_manual', 'subset': None}], str(tmp_path))


@pytest.fixture(scope='module')
def cli(base_dir, tmp_path_factory) -> dict:
  """{case: CompletedProcess} of `python -m jaxrobust.datasets` runs, forked from one start-up."""
  data_dir = tmp_path_factory.mktemp('cli') / 'data'
  shutil.copytree(base_dir, data_dir)
  name = subsets.materialize(spec(num_classes=3, images_per_class=4), str(data_dir))
  empty, built = tmp_path_factory.mktemp('empty'), tmp_path_factory.mktemp('built')
  cases = {'describe': ['describe', name, f'--data_dir={data_dir}'],
           'not materialized': ['describe', 'subset/nothing_here', f'--data_dir={empty}'],
           'build': ['build', 'fractaldb/tiny', f'--data_dir={built}'],
           'unknown dataset': ['build', 'no_such_dataset', f'--data_dir={empty}']}
  results = run_main_many(list(cases.values()), module='jaxrobust.datasets')
  return {'name': name, 'built': built, **dict(zip(cases, results))}


@pytest.mark.slow
def test_cli_describe_prints_the_manifest_summary(cli):
  result = cli['describe']
  assert result.returncode == 0, result.stderr
  assert f'{cli["name"]}: 12 examples' in result.stdout and 'label_coarse' in result.stdout


def test_cli_error_is_one_line(cli):
  result = cli['not materialized']
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith(
      'error: subset subset/nothing_here is not materialized')


def test_missing_imagenet_tars_are_named_with_where_they_go(tmp_path):
  with pytest.raises(errors.UserError, match='ILSVRC2012_img_train.tar; ILSVRC2012_img_val.tar '
                                             'into the manual dir'):
    build.build_datasets([{'name': 'imagenet2012', 'subset': None}], str(tmp_path))


def test_cli_build_generates_a_named_dataset_like_tfds_build(cli):
  result = cli['build']
  assert result.returncode == 0, result.stderr
  assert 'fractaldb/tiny  generated' in result.stdout
  assert (cli['built'] / 'fractaldb' / 'tiny' / '1.0.0' / 'dataset_info.json').exists()


def test_cli_build_of_an_unknown_dataset_is_one_line(cli):
  result = cli['unknown dataset']
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith(
      'error: Dataset no_such_dataset not found')


def test_every_missing_manual_download_is_named_before_anything_is_built(tmp_path):
  wanted = [{'name': TOY, 'subset': None}, {'name': 'imagenet2012', 'subset': None},
            {'name': 'iwildcam', 'subset': None}]
  with pytest.raises(errors.UserError) as info:
    build.build_datasets(wanted, str(tmp_path))
  lines = str(info.value).splitlines()
  assert lines[0] == '2 manual downloads are missing:'
  assert 'ILSVRC2012_img_train.tar' in lines[1] and 'iwildcam_v2.0.tar.gz' in lines[2]
  assert all(str(tmp_path / 'downloads' / 'manual') in line for line in lines[1:])
  assert not (tmp_path / TOY.split('/')[0]).exists()  # nothing was generated first
