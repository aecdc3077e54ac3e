"""Study config -> ordered plan of runs: pre-train, fine-tune, scratch.

A study config (configs/<study>.py) holds three run templates (`pretrain`, `finetune`, `scratch`,
each a full `jaxrobust/train/defaults.py:run_defaults()`) and, for each, a ConfigDict of named settings. A
setting overrides fields of its template; a pre-training setting also names its data as a subset
spec (`subset`). Every pre-trained model is fine-tuned under every fine-tune setting.

Run ids are `<kind>-<setting>[-<finetune setting>]-<hash>` (jaxrobust.runs.run_id). The hash is
taken over the run's *identity*: its config (runs.config_hash leaves out paths and speed knobs)
with a fine-tune's `init.model_init` replaced by its pre-training run id, so ids are the same on
every machine and in every workdir.
"""
from collections.abc import Iterable, Sequence
import copy
import dataclasses
import fnmatch
import json
import os
import re
from typing import Any

import ml_collections

from jaxrobust import errors
from jaxrobust import runs
from jaxrobust.datasets import generated
from jaxrobust.datasets import subsets
from jaxrobust.study import benchmark
from jaxrobust.study import datasets
from jaxrobust.study import selection

KINDS = ('pretrain', 'finetune', 'scratch')
RESULT_KINDS = ('finetune', 'scratch')  # their runs end with DIR/runs/<id>/result.json
RESULT_FILE = 'result.json'
_SETTING_NAME = re.compile(r'^[A-Za-z0-9_]+$')


@dataclasses.dataclass(frozen=True)
class PlannedRun:
  """One training run of a study, resolved."""
  run_id: str
  kind: str                        # 'pretrain' | 'finetune' | 'scratch'
  # Its setting name ('n5k', 'n5k/lr3e5', 'r18_lr1e3'; a pre-training replicate 'n5k/rep1').
  setting: str
  pretrain_setting: str | None     # the pre-training setting (pretrain and finetune runs)
  pretrain_id: str | None          # the run a fine-tune starts from
  config: ml_collections.ConfigDict  # what the engine gets
  identity_hash: str               # config hash the finished marker must match
  dataset: str                     # TFDS name[/config] it trains on
  subset: dict[str, Any] | None    # the subset spec behind `dataset` (pre-training)
  steps: int | None                # optimization steps (None: unknown until the data exists)
  train_examples: int | None = None  # examples it trains on (None: unknown until built)
  # Pre-training: of the fine-tune benchmark's `target_classes` classes (`empty` excluded), how
  # many its images include (jaxrobust.datasets.subsets.coverage; None: not known).
  target_classes_covered: int | None = None
  target_classes: int | None = None

  def run_dir(self, workdir: str) -> str:
    """DIR/runs/<run_id>."""
    return os.path.join(workdir, 'runs', self.run_id)

  @property
  def length(self) -> str:
    """Training length as the dry-run table shows it."""
    c = self.config
    if c.num_train_steps is not None:
      if self.train_examples is None:
        return f'{c.num_train_steps} steps (epochs known once built)'
      epochs = c.num_train_steps * c.batch_size / self.train_examples
      return f'{c.num_train_steps} steps ({epochs:,.1f} ep)'
    approx = f' (~{self.steps} steps)' if self.steps is not None else ''
    return f'{c.num_epochs:g} ep{approx}'

  @property
  def coverage(self) -> str:
    """'covered 8/8' (benchmark classes its images include), 'covered ?' where not known (a
    real benchmark: no species are matched by name), '' for runs that do not pre-train."""
    if self.kind != 'pretrain':
      return ''
    covered = '?' if self.target_classes_covered is None else self.target_classes_covered
    return f'covered {covered}' + ('' if self.target_classes is None else f'/{self.target_classes}')


def plan_study(config: ml_collections.ConfigDict,
               workdir: str | None = None) -> list[PlannedRun]:
  """The ordered runs of a study: every pre-training, every fine-tune of each, every scratch run.

  A fine-tune's `init.model_init` is `<workdir>/runs/<pretrain id>` (relative `runs/<id>` without
  a workdir). Every run reads the study's data dir (datasets.study_data_dir: by default
  `<workdir>/data`); `data.data_dir` is not part of run ids. With `config.pretrain_seeds`
  = R > 1 (or a setting's own `pretrain_seeds`), each pre-training setting is pre-trained R
  times, each fine-tuned with every fine-tune setting: replicate r draws the setting's images
  with subset seed + r and trains with run seed + r (replicate 0 is the setting as written).
  """
  _check_study(config)
  data_dir = datasets.study_data_dir(config.data_dir, workdir)
  plan = []
  pretrained = []
  for name, setting in _settings(config, 'pretrain_settings'):
    for r in range(_replicates(config, setting)):
      run = _pretrain_run(config, name, setting, data_dir, r)
      plan.append(run)
      pretrained.append(run)
  for pre in pretrained:
    for name, setting in _settings(config, 'finetune_settings'):
      plan.append(_finetune_run(config, pre, name, setting, workdir, data_dir))
  for name, setting in _settings(config, 'scratch_settings'):
    plan.append(_scratch_run(config, name, setting, data_dir))
  return plan


def group_sizes(plan: Sequence[PlannedRun]) -> dict[str, int]:
  """Evaluated models per pre-training setting (its fine-tunes) and 'scratch baselines'.

  These are the analysis' groups: each needs several models to show the spread between runs.
  """
  sizes = {}
  for run in plan:
    if run.kind != 'pretrain':
      key = run.pretrain_setting if run.kind == 'finetune' else 'scratch baselines'
      sizes[key] = sizes.get(key, 0) + 1
  return sizes


def datasets_needed(plan: Sequence[PlannedRun],
                    run_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
  """Datasets the planned runs (or the runs `run_ids` of them) read, in build order, no repeats.

  Each entry is `{'name': TFDS name[/config], 'subset': spec dict or None}`: base datasets first
  (every source of a subset comes before the subset), then the subsets, fine-tune and scratch
  datasets.
  """
  wanted = None if run_ids is None else set(run_ids)
  needed: dict[str, dict[str, Any]] = {}
  for run in plan:
    if wanted is not None and run.run_id not in wanted:
      continue
    if run.subset is not None:
      for source in run.subset['sources']:
        needed.setdefault(source['name'], {'name': source['name'], 'subset': None})
    needed.setdefault(run.dataset, {'name': run.dataset, 'subset': run.subset})
  return list(needed.values())


def select_runs(plan: Sequence[PlannedRun], only: str | None) -> list[PlannedRun]:
  """The runs whose id matches one of the comma-separated globs in `only` (all when empty)."""
  if not only:
    return list(plan)
  globs = [g.strip() for g in only.split(',') if g.strip()]
  chosen = [r for r in plan if any(fnmatch.fnmatchcase(r.run_id, g) for g in globs)]
  if not chosen:
    raise errors.UserError(f'--only={only} matches no run id of this study; '
                           'list the ids with --dry_run.')
  return chosen


def slice_globs(plan: Sequence[PlannedRun]) -> list[str]:
  """Disjoint `--only` values covering the plan: one per pre-training setting, one for scratch.

  Each pre-training slice holds the pre-training run and all its fine-tunes, so slices run on
  separate machines without waiting for each other.
  """
  globs = []
  for run in plan:
    if run.kind == 'pretrain' and run.setting == run.pretrain_setting:  # with its replicates
      globs.append(f'pretrain-{run.setting}-*,finetune-{run.setting}-*')
  if any(run.kind == 'scratch' for run in plan):
    globs.append('scratch-*')
  return globs


def _check_study(config: ml_collections.ConfigDict) -> None:
  for field in ('study', 'pretrain', 'finetune', 'scratch', 'pretrain_settings',
                'finetune_settings', 'scratch_settings', 'pretrain_length', 'selection'):
    if field not in config:
      raise errors.ConfigError(f'Study config lacks config.{field}; build study configs with '
                               'jaxrobust/study/recipes.py:study_defaults().')
  if config.pretrain_length not in ('steps', 'epochs'):
    raise errors.ConfigError(f'config.pretrain_length={config.pretrain_length!r}: use '
                             "'steps' (same steps for every setting) or 'epochs'.")
  selection.check_rule(config.selection)
  _check_replicates('config.pretrain_seeds', config.get('pretrain_seeds', 1))
  for name, setting in config.pretrain_settings.items():
    if 'pretrain_seeds' in setting:
      _check_replicates(f'config.pretrain_settings.{name}.pretrain_seeds', setting.pretrain_seeds)
  for builder, release in (config.get('releases') or {}).items():
    known = datasets.builder_config_names(builder)
    if release not in known:
      raise errors.ConfigError(f'config.releases.{builder}={release!r}: use one of '
                               f'{", ".join(known)}.')
  if len(config.pretrain_settings) and not len(config.finetune_settings):
    raise errors.ConfigError('config.pretrain_settings is set but config.finetune_settings is '
                             'empty: add a fine-tune setting or the pre-trained models are unused.')


def _settings(config, field: str) -> list[tuple[str, ml_collections.ConfigDict]]:
  """(name, setting) pairs in the order the config file wrote them."""
  group = config[field]
  names = list(json.loads(group.to_json_best_effort()))  # the file's order (to_dict sorts)
  for name in names:
    if not _SETTING_NAME.match(name):
      raise errors.ConfigError(f'config.{field}.{name}: setting names may use letters, digits '
                               'and _ only (they become part of run ids).')
  return [(name, group[name]) for name in names]


def _replicates(config, setting) -> int:
  """How many times a pre-training setting is pre-trained: its own `pretrain_seeds`, else the
  study's."""
  return setting.get('pretrain_seeds', config.get('pretrain_seeds', 1))


def _check_replicates(field: str, seeds) -> None:
  if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
    raise errors.ConfigError(f'{field}={seeds!r}: give how many times to pre-train, a whole '
                             'number >= 1.')


def _apply(run: ml_collections.ConfigDict, overrides, where: str, skip=()) -> None:
  """Writes `overrides` (nested) into `run`, refusing fields the run config does not have."""
  for key, value in overrides.items():
    if key in skip:
      continue
    if key not in run:
      raise errors.ConfigError(f'{where}.{key} is not a run config field (see '
                               'jaxrobust/train/defaults.py:run_defaults()).')
    if isinstance(run[key], ml_collections.ConfigDict):
      if not isinstance(value, (dict, ml_collections.ConfigDict)):
        raise errors.ConfigError(f'{where}.{key} must be a group of fields, got {value!r}.')
      _apply(run[key], value, f'{where}.{key}')
    else:
      run[key] = value


def _template(config, kind: str, name: str, setting, data_dir: str | None,
              skip=()) -> ml_collections.ConfigDict:
  run = copy.deepcopy(config[kind])
  run.unlock()
  if kind in RESULT_KINDS and 'benchmark' in config:
    benchmark.apply(run, config.benchmark)
  _apply(run, setting, f'config.{kind}_settings.{name}', skip)
  run.kind = kind
  run.imports = config.get('imports') or ''
  run.data.data_dir = data_dir
  run.data.name = generated.reseeded(run.data.name, config.get('data_seed'))
  return run


def identity(run: ml_collections.ConfigDict,
             pretrain_id: str | None) -> ml_collections.ConfigDict:
  """The run's config with the workdir-dependent pre-training path replaced by its run id."""
  if pretrain_id is None:
    return run
  ident = copy.deepcopy(run)
  ident.init.model_init = pretrain_id
  return ident


def planned_steps(run_cfg: ml_collections.ConfigDict, train_examples: int | None) -> int | None:
  """The run's optimization steps, as jaxrobust.train.loop.num_train_steps counts them; None
  when they depend on a dataset size not known yet."""
  if run_cfg.num_train_steps is not None:
    return run_cfg.num_train_steps
  if train_examples is None:
    return None
  return round(run_cfg.num_epochs * (train_examples // run_cfg.batch_size))


def _finish(run_cfg, kind, setting, pretrain_setting, pretrain_id, subset, train_examples):
  """Names the run, hashes its identity and estimates its steps."""
  run_cfg.name = f'{kind}-{setting.replace("/", "-")}'
  ident = identity(run_cfg, pretrain_id)
  if run_cfg.num_train_steps is None and run_cfg.num_epochs is None:
    raise errors.ConfigError(f'Run {run_cfg.name} has neither num_train_steps nor num_epochs; '
                             f'set one in config.{kind} or its setting.')
  steps = planned_steps(run_cfg, train_examples)
  return PlannedRun(
      run_id=runs.run_id(run_cfg.name, ident), kind=kind, setting=setting,
      pretrain_setting=pretrain_setting, pretrain_id=pretrain_id, config=run_cfg,
      identity_hash=runs.config_hash(ident), dataset=run_cfg.data.name, subset=subset,
      steps=steps, train_examples=train_examples)


def _pretrain_run(config, name, setting, data_dir, r: int = 0) -> PlannedRun:
  if 'subset' not in setting:
    raise errors.ConfigError(f'config.pretrain_settings.{name} has no subset spec '
                             '(field `subset`, see docs/studies.md).')
  spec = setting.subset.to_dict()
  spec['seed'] = (spec.get('seed') or 0) + r
  for source in spec['sources']:
    source['name'] = generated.reseeded(_release(source['name'], config.get('releases')),
                                        config.get('data_seed'))
  target = generated.reseeded(config.finetune.data.name, config.get('data_seed'))
  if spec.get('benchmark_classes'):  # the benchmark is the study's fine-tune dataset unless named
    spec['benchmark'] = (generated.reseeded(spec['benchmark'], config.get('data_seed'))
                         if spec.get('benchmark') else target)
  run = _template(config, 'pretrain', name, setting, data_dir, skip=('subset', 'pretrain_seeds'))
  run.seed += r
  try:
    run.data.name = subsets.subset_name(spec)
    run.data.label_key = subsets.label_key(spec)
    coverage = subsets.benchmark_coverage(spec, target)
  except ValueError as e:
    raise errors.ConfigError(f'config.pretrain_settings.{name}.subset: {e}') from None
  if config.pretrain_length == 'epochs':
    run.num_train_steps = None
    run.num_epochs = config.pretrain_epochs
  size = (_subset_size(spec) or datasets.train_examples(run.data.name, data_dir,
                                                        run.data.train_split)
          or _whole_source_size(spec, data_dir))
  label = f'{name}/rep{r}' if r else name
  return dataclasses.replace(_finish(run, 'pretrain', label, name, None, spec, size),
                             target_classes_covered=coverage.covered,
                             target_classes=coverage.total)


def _release(name: str, releases: ml_collections.ConfigDict | None) -> str:
  """`builder/config` with the config the study field `releases.<builder>` picks, if it has one."""
  builder, has_config, _ = name.partition('/')
  release = releases.get(builder) if releases else None
  return f'{builder}/{release}' if has_config and release else name


def _finetune_run(config, pre: PlannedRun, name, setting, workdir, data_dir) -> PlannedRun:
  run = _template(config, 'finetune', name, setting, data_dir)
  # The backbone is restored from the pre-trained model, so its architecture is that one.
  for field in ('name', 'stem', 'width'):
    run.model[field] = pre.config.model[field]
  runs_dir = os.path.join(workdir, 'runs') if workdir else 'runs'
  run.init.model_init = os.path.join(runs_dir, pre.run_id)
  _check_splits(run, data_dir)
  size = datasets.train_examples(run.data.name, data_dir, run.data.train_split)
  return _finish(run, 'finetune', f'{pre.setting}/{name}', pre.pretrain_setting, pre.run_id,
                 None, size)


def _scratch_run(config, name, setting, data_dir) -> PlannedRun:
  run = _template(config, 'scratch', name, setting, data_dir)
  run.init.model_init = None
  _check_splits(run, data_dir)
  size = datasets.train_examples(run.data.name, data_dir, run.data.train_split)
  return _finish(run, 'scratch', name, None, None, None, size)


def _check_splits(run: ml_collections.ConfigDict, data_dir: str) -> None:
  """Refuses declared splits that the benchmark dataset lacks, when it is already built."""
  available = datasets.split_names(run.data.name, data_dir)
  if available is not None:
    benchmark.check_splits(run, available)


def check_benchmark_splits(plan: Sequence[PlannedRun], data_dir: str) -> None:
  """After the data is prepared, before any run trains: every fine-tune and scratch run's
  declared splits exist in its built dataset."""
  for run in plan:
    if run.kind in RESULT_KINDS:
      _check_splits(run.config, data_dir)


def _subset_size(spec: dict[str, Any]) -> int | None:
  if spec.get('num_examples'):
    return spec['num_examples']
  if spec.get('num_classes') and spec.get('images_per_class'):
    return spec['num_classes'] * spec['images_per_class']
  if spec.get('num_classes') and spec.get('diversity'):
    return spec['num_classes'] * spec['diversity']['images_per_superclass']
  return None


def _whole_source_size(spec: dict[str, Any], data_dir: str) -> int | None:
  """Train examples of a subset that is one whole source (relabelled at most), else None."""
  (source, *others) = spec['sources']
  if others or spec.get('class_filter') or spec.get('diversity'):
    return None
  return (datasets.train_examples(source['name'], data_dir, source['split'])
          or datasets.PUBLISHED_TRAIN_EXAMPLES.get(source['name']))
