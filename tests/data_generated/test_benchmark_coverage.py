"""Which of synthetic_wildcam's classes a subset of synthetic_nature includes, known from specs:
the mapping is the world's own, and the count matches what a materialized subset holds."""
import shutil

import numpy as np
import pytest

from jaxrobust.datasets import subsets
from jaxrobust.datasets import synthetic
from jaxrobust.datasets.builders import synthetic_nature
from jaxrobust.datasets.hierarchy import FINE_LEVEL
from jaxrobust.datasets.subsets import target_classes as benchmark
from jaxrobust.datasets.synthetic import taxonomy

NATURE = 'synthetic_nature/tiny'
WILDCAM = 'synthetic_wildcam/tiny/num_classes=3'  # 3 of tiny's 6 animal species


@pytest.mark.parametrize('nature,wildcam', [
    ('synthetic_nature/small', 'synthetic_wildcam/small'),
    ('synthetic_nature/small/seed=3', 'synthetic_wildcam/small/seed=3'),
    ('synthetic_nature/tiny', 'synthetic_wildcam/tiny'),
])
def test_the_benchmark_classes_are_the_source_species_at_the_ids_found(nature, wildcam):
  ids = benchmark.classes_in_source(nature, wildcam)
  config = benchmark.nature_config(nature)
  species = taxonomy.build_taxonomy(config.branching, config.animal_orders, config.seed)
  settings = benchmark.wildcam_config(wildcam).world_settings()
  world = synthetic.build_world(settings)
  assert len(ids) == len(world.classes) == benchmark.num_classes(wildcam) > 0
  # Class k of the world is species fauna_indices[k]; `ids` lists those species in id order.
  in_id_order = [world.classes[k] for k in np.argsort(synthetic.fauna_indices(settings))]
  assert [species[i].animal for i in ids] == in_id_order


def test_other_worlds_and_other_sources_hold_none_and_real_benchmarks_are_unknown():
  assert benchmark.classes_in_source('synthetic_nature/small/seed=1',
                                     'synthetic_wildcam/small').size == 0
  for source in ('fractaldb/small', 'diffusion_imagenet/local', 'imagenet2012'):
    assert benchmark.classes_in_source(source, 'synthetic_wildcam/small').size == 0
  assert benchmark.classes_in_source('synthetic_nature/small', 'iwildcam/448') is None
  assert benchmark.num_classes('iwildcam/448') is None
  coverage = subsets.benchmark_coverage({'sources': ['imagenet2012'], 'num_examples': 5000},
                                        'iwildcam/448')
  assert coverage == subsets.Coverage(None, None)


def _spec(**fields) -> dict:
  return {'sources': [{'name': NATURE, 'split': 'train', 'weight': 1.0}], **fields}


SPECS = {
    'plain': _spec(num_classes=4, images_per_class=5),
    'other_seed': _spec(num_classes=4, images_per_class=5, seed=2),
    'keep': _spec(num_classes=4, images_per_class=5, benchmark=WILDCAM, benchmark_classes='keep'),
    'drop': _spec(num_classes=4, images_per_class=5, benchmark=WILDCAM, benchmark_classes='drop'),
    'animals': _spec(class_filter='animal', num_examples=12),
    'diverse_drop': _spec(diversity={'level': 'level2', 'subclasses_per_superclass': 1,
                                     'images_per_superclass': 4}, benchmark=WILDCAM,
                          benchmark_classes='drop'),
    'mixture': {'sources': [{'name': NATURE, 'split': 'train', 'weight': 0.5},
                            {'name': 'fractaldb/tiny', 'split': 'train', 'weight': 0.5}],
                'num_examples': 24},
}


@pytest.fixture(scope='module')
def data_dir(nature_tiny, build_dataset, tmp_path_factory) -> str:
  """synthetic_nature/tiny and fractaldb/tiny in one data dir the subsets are written to."""
  path = tmp_path_factory.mktemp('coverage')
  shutil.copytree(nature_tiny.data_dir_root, path, dirs_exist_ok=True)
  build_dataset('fractaldb/tiny', path)
  return str(path)


@pytest.mark.parametrize('name', SPECS)
def test_coverage_from_the_spec_is_what_the_materialized_subset_holds(name, data_dir):
  spec = SPECS[name]
  manifest = subsets.read_manifest(subsets.materialize(spec, data_dir), data_dir)
  nature_names = synthetic_nature.build_hierarchy(
      benchmark.nature_config(NATURE)).classes[FINE_LEVEL]
  held = {n.removeprefix(f'{NATURE}:') for n in manifest['hierarchy']['classes'][FINE_LEVEL]}
  benchmark_names = {nature_names[i] for i in benchmark.classes_in_source(NATURE, WILDCAM)}
  coverage = subsets.benchmark_coverage(spec, WILDCAM)
  assert coverage == subsets.Coverage(len(held & benchmark_names), 3)
  expected = {'keep': 3, 'drop': 0, 'animals': 3, 'diverse_drop': 0, 'mixture': 3}
  if name in expected:
    assert coverage.covered == expected[name]


def test_random_class_picks_cover_the_benchmark_unevenly_and_keep_evens_them_out():
  covered = {seed: subsets.benchmark_coverage(_spec(num_classes=4, images_per_class=5,
                                                    seed=seed), WILDCAM).covered
             for seed in range(8)}
  assert len(set(covered.values())) > 1  # why the local studies need a rule
  kept = {subsets.benchmark_coverage(_spec(num_classes=4, images_per_class=5, seed=seed,
                                           benchmark=WILDCAM, benchmark_classes='keep'),
                                     WILDCAM).covered for seed in range(8)}
  assert kept == {3}
