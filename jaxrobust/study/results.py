"""Outputs of each evaluated fine-tune or scratch model: predictions_<split>.npz + result.json.

Layout (the analysis reads `runs/<run_id>/result.json` and the npz files beside it):
  <run_dir>/result.json, predictions_<split>.npz    the model the study's selection rule
      picked (jaxrobust.study.selection; default: best OOD validation macro-F1, as WILDS)
  <run_dir>/selection/evaluations.json              scores of every evaluation (the curve)
  <run_dir>/selection/step_<s>/predictions_...      the models other rules picked (e.g. the
      last epoch), named in result.json's `selections.<rule>.predictions`
`predictions_<split>.npz`: `labels`, `predictions` (int, split order) and `logits`
(float32 [N, classes]) when config.save_logits is set.
result.json (schema: DESIGN.md, User-facing contracts):
  run_id, study (the study's name; null for a run outside a study), kind,
  pretrain {source, num_examples, num_classes, label_level, images_per_class,
            diversity_ratio, semantics, part ('i/n': disjoint part i of n of the data, else
            null), arch, seed, steps, target_classes_covered, target_classes} (null for
            scratch; the last two: how many of the fine-tune dataset's classes the pre-training
            images include, null where not known),
  finetune {dataset, lr, epochs, batch_size, seed, resolution, arch, mode, steps} (as trained),
  metrics {id, ood: {split, macro_f1, accuracy, num_examples, classes, per_class_f1},
           splits: {<every evaluated split>: {macro_f1, accuracy, num_examples}}}
      of the selected model,
  selection {rule, split, metric, epoch, step, every_epochs, predictions ('.'), num_evaluations},
  selections {ood_val, id_val, last: {split, epoch, step, score (of `split`; null for last),
              predictions (folder, relative to the run dir), metrics {id, ood: {split,
              macro_f1, accuracy, num_examples}}}},
  skipped_eval_images {split: [file, ...]} (empty unless the dataset was built with the opt-in
      to skip unreadable evaluation images: then every model is compared on fewer images),
  skipped_train_examples (training examples skipped over the whole run: undecodable images and
      unreadable records, the sum of metrics.jsonl's train/skipped_images),
  config_hash, wall_seconds, pretrain_checkpoint (null for scratch).
`per_class_f1[i]` is the F1 of class `classes[i]`, over the classes present in the split
(the ones macro-F1 averages). `id` and `ood` are the benchmark's ID and OOD test splits
(the run's `data.id_split` and `data.ood_split`, set from the study's `config.benchmark`).
`config_hash` is the run's identity hash (jaxrobust.study.plan.identity:
`init.model_init` replaced by the pre-training run id), so it does not depend on the workdir.
`wall_seconds` is the time of the engine call that wrote the file (a resumed run counts
only its last call).
"""
from collections.abc import Mapping, Sequence
import json
from typing import Any

from absl import logging
from etils import epath
import ml_collections
import numpy as np

from jaxrobust import runs
from jaxrobust import metrics
from jaxrobust.datasets import images
from jaxrobust.input import loading
from jaxrobust.datasets import subsets
from jaxrobust.errors import ConfigError, UserError
from jaxrobust.study import benchmark
from jaxrobust.study import datasets
from jaxrobust.study import plan as plan_lib
from jaxrobust.study import selection
from jaxrobust.study.plan import RESULT_FILE
from jaxrobust.train import handoff
from jaxrobust.train import step as step_lib
from jaxrobust.train import writers
from jaxrobust.train.evaluate import Evaluation, OnEvaluation

SUBSET_PREFIX = 'subset/'
_SEMANTICS_CLASSES_LISTED = 8


def check_config(config: ml_collections.ConfigDict) -> None:
  """Refuses, before training, a finetune/scratch run that could not write its result."""
  roles = {role: config.data[role] for role in benchmark.ROLES}
  missing = [f'{role}={split!r}' for role, split in roles.items()
             if split not in config.data.eval_splits]
  if missing:
    raise ConfigError(
        f'config.data.eval_splits={list(config.data.eval_splits)} lacks {", ".join(missing)}: '
        f'a {config.kind} run scores its ID and OOD validation and test splits; declare them in '
        'the study\'s config.benchmark (or set config.data.eval_splits and config.data.*_split).')
  if config.kind == 'finetune' and not config.init.model_init:
    raise ConfigError('A finetune run needs config.init.model_init: the pre-training run '
                      'directory (DIR/runs/<run_id>) or one of its checkpoints.')
  if config.kind == 'scratch' and config.init.model_init:
    raise ConfigError(f'config.kind=scratch trains from random initialization, but '
                      f'config.init.model_init={config.init.model_init}; unset it or use '
                      f'config.kind=finetune.')


def _semantics(class_filter: Any) -> str | None:
  """A subset's class filter as short text: its name, or its classes (or their count)."""
  if class_filter is None or isinstance(class_filter, str):
    return class_filter
  if len(class_filter) <= _SEMANTICS_CLASSES_LISTED:
    return ','.join(class_filter)
  return f'{len(class_filter)} classes'


def _label_level(label_key: str) -> str:
  # Label features are `label` (finest) and `label_<level>` (coarser levels).
  return label_key.removeprefix('label_')


def pretrain_block(found: handoff.PretrainedCheckpoint, benchmark: str) -> dict[str, Any]:
  """The `pretrain` entry: the pre-training run's data and model, as its config.json says,
  and how many classes of `benchmark` (the fine-tune dataset) its data includes."""
  head = found.saved_tree().get('params', {}).get(step_lib.HEAD, {})
  block = {'source': None, 'num_examples': None,
           'num_classes': int(head['kernel'].shape[-1]) if 'kernel' in head else None,
           'label_level': None, 'images_per_class': None, 'diversity_ratio': None,
           'semantics': None, 'part': None, 'arch': None, 'seed': None, 'steps': found.step,
           'target_classes_covered': None, 'target_classes': None}
  config = found.run_config()
  if config is None:
    logging.warning('%s has no %s beside it: result.json gets only pretrain.num_classes and '
                    'steps.', found.step_dir, runs.CONFIG_FILE)
    return block
  block.update(source=config.data.name, label_level=_label_level(config.data.label_key),
               arch=config.model.name, seed=config.seed)
  spec = {}
  if config.data.name.startswith(SUBSET_PREFIX):
    try:
      manifest = subsets.read_manifest(config.data.name, config.data.data_dir)
    except UserError as e:
      logging.warning('pretrain subset manifest unavailable: %s', e)
    else:
      spec = manifest['spec']
      block['source'] = '+'.join(s['name'] for s in manifest['sources'])
      block['num_examples'] = len(manifest['records']['label'])
  else:
    spec = {'sources': [{'name': config.data.name, 'split': config.data.train_split}]}
    block['num_examples'] = datasets.train_examples(
        config.data.name, datasets.study_data_dir(config.data.data_dir),
        config.data.train_split)
    if block['num_examples'] is None:
      logging.warning('pretrain.num_examples unknown: %s is not built.', config.data.name)
  if spec:
    coverage = subsets.benchmark_coverage(spec, benchmark)
    block['target_classes_covered'], block['target_classes'] = coverage.covered, coverage.total
  diversity = spec.get('diversity')
  block['diversity_ratio'] = diversity['subclasses_per_superclass'] if diversity else None
  block['semantics'] = _semantics(spec.get('class_filter'))
  if spec.get('part') is not None:
    index, count = spec['part']
    block['part'] = f'{index + 1}/{count}'
  per_class = spec.get('images_per_class') or (
      diversity['images_per_superclass'] if diversity else None)
  if per_class is None and block['num_examples'] and block['num_classes']:
    per_class = block['num_examples'] / block['num_classes']
    per_class = int(per_class) if per_class.is_integer() else round(per_class, 2)
  block['images_per_class'] = per_class
  return block


def split_scores(labels: np.ndarray, predictions: np.ndarray, split: str) -> dict[str, Any]:
  """{split, macro_f1, accuracy, num_examples, classes, per_class_f1} of one split."""
  classes = np.unique(labels)
  return {'split': split, **metrics.classification_scores(labels, predictions),
          'classes': classes.tolist(),
          'per_class_f1': metrics.per_class_f1(labels, predictions).tolist()}


def _write_atomic(path: epath.Path, text: str) -> None:
  tmp = path.parent / f'{path.name}.tmp'
  tmp.write_text(text)
  tmp.replace(path)  # the study treats an existing result.json as a finished evaluation


def write_predictions(outputs: Mapping[str, Mapping[str, np.ndarray]], out_dir: epath.Path,
                      save_logits: bool) -> None:
  """predictions_<split>.npz per split: labels, predictions (and logits if asked)."""
  out_dir.mkdir(parents=True, exist_ok=True)
  for split, out in outputs.items():
    arrays = {'labels': out['labels'], 'predictions': out['predictions']}
    if save_logits:
      arrays['logits'] = out['logits']
    with (out_dir / f'predictions_{split}.npz').open('wb') as f:
      np.savez(f, **arrays)


def read_predictions(model_dir: epath.Path, splits: Sequence[str]
                     ) -> dict[str, dict[str, np.ndarray]]:
  """{split: {labels, predictions[, logits]}} as `write_predictions` wrote them."""
  outputs = {}
  for split in splits:
    with (model_dir / f'predictions_{split}.npz').open('rb') as f, np.load(f) as npz:
      outputs[split] = dict(npz)
  return outputs


def skipped_eval_images(config: ml_collections.ConfigDict) -> dict[str, list[str]]:
  """{split: [file, ...]} of evaluation images the dataset build skipped (opt-in only)."""
  builder = loading.open_dataset(config.data.name, config.data.data_dir)
  skipped = {}
  for entry in (builder.info.metadata or {}).get(images.SKIPPED_KEY, []):
    if entry['split'] in config.data.eval_splits:
      skipped.setdefault(entry['split'], []).append(entry['file'])
  return skipped


def skipped_train_examples(run_dir: epath.Path) -> int:
  """Training examples the run skipped so far (all its train/skipped_images in metrics.jsonl)."""
  path = run_dir / writers.METRICS_FILE
  if not path.exists():
    return 0
  return int(sum(r.get('train/skipped_images', 0) for r in writers.read_metrics(path)))


def _epochs(config: ml_collections.ConfigDict, evaluation: Evaluation) -> float:
  if evaluation.final and config.num_epochs is not None:
    return float(config.num_epochs)
  return round(evaluation.step / evaluation.steps_per_epoch, 4)


def _short(scores: Mapping[str, Any]) -> dict[str, Any]:
  return {k: scores[k] for k in ('split', 'macro_f1', 'accuracy', 'num_examples')}


def write_results(config: ml_collections.ConfigDict, evaluation: Evaluation, *,
                  study: str | None, config_hash: str,
                  pretrained: handoff.PretrainedCheckpoint | None,
                  rule: str = selection.DEFAULT_RULE,
                  skipped: Mapping[str, list[str]] | None = None) -> dict[str, Any] | None:
  """Records one evaluation; at the end of training writes the predictions and result.json.

  During training: the scores go to the selection history and a candidate's predictions
  (an evaluation with test splits) to `selection/step_<s>/`. At the end: every rule picks its
  model (jaxrobust.study.selection); `rule`'s model is the run's (predictions in the run
  directory, metrics.id / metrics.ood), the others' stay in `selection/step_<s>/`, the rest
  is deleted. `skipped`: `skipped_eval_images(config)`, read at the end when None. Returns the
  result (None during training). Call on process 0 only.
  """
  run_dir, step = epath.Path(evaluation.run_dir), evaluation.step
  id_split, ood_split = benchmark.id_ood_splits(config)
  history = selection.record(run_dir, {'step': step, 'epoch': _epochs(config, evaluation),
                                       'scores': evaluation.scores})
  if not evaluation.final:
    if id_split in evaluation.outputs and ood_split in evaluation.outputs:
      write_predictions(evaluation.outputs, selection.candidate_dir(run_dir, step),
                        config.save_logits)
    return None
  rule_splits = {r: selection.rule_split(r, config) for r in selection.RULES}
  chosen = {r: history[selection.select(history, rule_splits[r])] for r in selection.RULES}
  primary = chosen[rule]['step']

  def model_dir(s: int) -> str:
    return '.' if s == primary else str(selection.candidate_dir(run_dir, s).relative_to(run_dir))

  def outputs_at(s: int) -> dict[str, dict[str, np.ndarray]]:
    if s == step:
      return evaluation.outputs
    return read_predictions(selection.candidate_dir(run_dir, s), config.data.eval_splits)

  if primary != step:
    write_predictions(evaluation.outputs, selection.candidate_dir(run_dir, step),
                      config.save_logits)
  outputs = outputs_at(primary)
  write_predictions(outputs, run_dir, config.save_logits)
  selections = {}
  for r, entry in chosen.items():
    out = outputs_at(entry['step'])
    split = rule_splits[r]
    selections[r] = {
        'split': split, 'epoch': entry['epoch'], 'step': entry['step'],
        'score': entry['scores'][split][selection.METRIC] if split else None,
        'predictions': model_dir(entry['step']),
        'metrics': {role: _short(split_scores(out[s]['labels'], out[s]['predictions'], s))
                    for role, s in (('id', id_split), ('ood', ood_split))}}
  result = {
      'run_id': run_dir.name,
      'study': study,
      'kind': config.kind,
      'pretrain': (pretrain_block(pretrained, config.data.name) if pretrained is not None
                   else None),
      'finetune': {
          'dataset': config.data.name, 'lr': config.optimizer.learning_rate,
          'epochs': _epochs(config, evaluation), 'batch_size': config.batch_size,
          'seed': config.seed, 'resolution': config.data.image_size, 'arch': config.model.name,
          'mode': config.init.mode, 'steps': step},
      'metrics': {
          'id': split_scores(outputs[id_split]['labels'], outputs[id_split]['predictions'],
                             id_split),
          'ood': split_scores(outputs[ood_split]['labels'],
                              outputs[ood_split]['predictions'], ood_split),
          'splits': {split: metrics.classification_scores(out['labels'], out['predictions'])
                     for split, out in outputs.items()},
      },
      'selection': {'rule': rule, 'split': rule_splits[rule], 'metric': selection.METRIC,
                    'epoch': chosen[rule]['epoch'], 'step': primary,
                    'every_epochs': config.eval_every_epochs, 'predictions': '.',
                    'num_evaluations': len(history)},
      'selections': selections,
      'skipped_eval_images': dict(skipped_eval_images(config) if skipped is None else skipped),
      'skipped_train_examples': skipped_train_examples(run_dir),
      'config_hash': config_hash,
      'wall_seconds': round(evaluation.wall_seconds, 3),
      'pretrain_checkpoint': str(pretrained.step_dir) if pretrained is not None else None,
  }
  _write_atomic(run_dir / RESULT_FILE, json.dumps(result, indent=1) + '\n')
  keep = {model_dir(e['step']) for e in chosen.values()}
  for candidate in (run_dir / selection.SELECTION_DIR).glob('step_*'):
    if str(candidate.relative_to(run_dir)) not in keep:
      candidate.rmtree()
  logging.info('Wrote %s: model selected by %s at epoch %g; ID (%s) macro-F1 %.4f, OOD (%s) '
               'macro-F1 %.4f.', run_dir / RESULT_FILE, rule, chosen[rule]['epoch'], id_split,
               result['metrics']['id']['macro_f1'], ood_split,
               result['metrics']['ood']['macro_f1'])
  return result


def result_writer(config: ml_collections.ConfigDict, *, study: str | None,
                  config_hash: str | None = None,
                  rule: str = selection.DEFAULT_RULE) -> OnEvaluation:
  """The engine's `on_evaluation` for a finetune/scratch run: `write_results` per evaluation.

  `rule`: the model selection rule whose model result.json's metrics report.
  `config_hash`: the run's identity hash (the plan's); None (a run outside a study) takes it
  from the config with the pre-training run id found at `init.model_init`.
  """
  check_config(config)
  pretrained = (handoff.find_checkpoint(config.init.model_init)
                if config.kind == 'finetune' else None)
  if config_hash is None:
    pretrain_id = (pretrained.run_dir.name if pretrained is not None
                   and pretrained.run_dir is not None else None)
    config_hash = runs.config_hash(plan_lib.identity(config, pretrain_id))
  selection.check_rule(rule)
  return lambda evaluation: write_results(config, evaluation, study=study,
                                          config_hash=config_hash, pretrained=pretrained,
                                          rule=rule)
