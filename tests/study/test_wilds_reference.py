"""result.json against WILDS' evaluation, re-implemented here from its definitions.

WILDS (iWildCam) writes one prediction file per split and epoch (`..._split:<s>_seed:<n>_epoch:
<e>_pred.csv`, one predicted `y` per line, in metadata.csv row order of that split), scores a
split by `F1-macro_all` (sklearn macro F1 over the labels present in the split's ground truth),
and keeps the epoch whose `val` F1-macro_all is strictly higher than every earlier one.
"""
import csv
import json
import pathlib

import numpy as np
from sklearn.metrics import f1_score

from jaxrobust.study import results
from jaxrobust.train import evaluate
from jaxrobust.train.evaluate import Evaluation
from tests.helpers.configs import load_config

SPLITS = ('id_val', 'id_test', 'val', 'test')
NUM_CLASSES = 6
ROWS_PER_SPLIT = 30
# Fraction of correct predictions per epoch (0-based, as WILDS counts): val ties at epochs 1
# and 3 (the first must win), id_val peaks at epoch 2, the last epoch is 3.
CORRECT = {'id_val': (0.3, 0.5, 0.8, 0.6), 'val': (0.3, 0.7, 0.5, 0.7),
           'id_test': (0.2, 0.4, 0.6, 0.5), 'test': (0.1, 0.3, 0.5, 0.4)}
NUM_EPOCHS = 4


def _write_wilds_files(folder: pathlib.Path) -> None:
  """metadata.csv and the prediction csv files of a 4-epoch run, as WILDS lays them out."""
  rng = np.random.default_rng(0)
  labels = {s: rng.integers(0, NUM_CLASSES, ROWS_PER_SPLIT) for s in SPLITS}
  with open(folder / 'metadata.csv', 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['', 'split', 'location_remapped', 'y', 'filename'])
    order = [(s, y) for s in SPLITS for y in labels[s]]
    rng.shuffle(order)  # splits interleaved, as in the real file
    counters = {s: 0 for s in SPLITS}
    by_split = {s: [] for s in SPLITS}
    for i, (split, _) in enumerate(order):
      y = labels[split][counters[split]]
      counters[split] += 1
      by_split[split].append(y)
      writer.writerow([i, split, i % 5, y, f'{i:08x}.jpg'])
  for split in SPLITS:
    truth = np.asarray(by_split[split])
    base = rng.integers(0, NUM_CLASSES, truth.size)
    for epoch, correct in enumerate(CORRECT[split]):
      if split == 'val' and epoch == 3:
        pred = np.loadtxt(folder / _pred_name(split, 1), dtype=int)  # the tie
      else:
        right = np.arange(truth.size) < round(correct * truth.size)
        pred = np.where(right, truth, (base + 1 + epoch) % NUM_CLASSES)
      np.savetxt(folder / _pred_name(split, epoch), pred, fmt='%d')


def _pred_name(split: str, epoch: int) -> str:
  return f'iwildcam_split:{split}_seed:0_epoch:{epoch}_pred.csv'


def _wilds_reference(folder: pathlib.Path) -> dict:
  """Selected epoch (by val) and its ID / OOD F1-macro_all, WILDS' way; also id_val's choice."""
  with open(folder / 'metadata.csv') as f:
    rows = list(csv.DictReader(f))
  truth = {s: np.asarray([int(r['y']) for r in rows if r['split'] == s]) for s in SPLITS}

  def f1_macro_all(split, epoch):
    pred = np.loadtxt(folder / _pred_name(split, epoch), dtype=int)
    return f1_score(truth[split], pred, average='macro', labels=np.unique(truth[split]))

  chosen = {}
  for rule, split in (('ood_val', 'val'), ('id_val', 'id_val')):
    best_epoch, best = None, None
    for epoch in range(NUM_EPOCHS):
      score = f1_macro_all(split, epoch)
      if best is None or score > best:
        best_epoch, best = epoch, score
    chosen[rule] = best_epoch
  chosen['last'] = NUM_EPOCHS - 1
  return {rule: {'epoch': e, 'id': f1_macro_all('id_test', e), 'ood': f1_macro_all('test', e)}
          for rule, e in chosen.items()}


def _project_result(folder: pathlib.Path, run_dir: pathlib.Path) -> dict:
  """The same predictions through the project's result writer, one evaluation per epoch."""
  config = load_config('finetune', 'local,scratch')
  config.data.name, config.num_epochs = 'iwildcam', float(NUM_EPOCHS)
  with open(folder / 'metadata.csv') as f:
    rows = list(csv.DictReader(f))
  labels = {s: np.asarray([int(r['y']) for r in rows if r['split'] == s]) for s in SPLITS}
  for epoch in range(NUM_EPOCHS):
    outputs = {s: {'labels': labels[s],
                   'predictions': np.loadtxt(folder / _pred_name(s, epoch), dtype=int)}
               for s in SPLITS}
    result = results.write_results(
        config, Evaluation(run_dir=run_dir, step=epoch + 1, num_steps=NUM_EPOCHS,
                           steps_per_epoch=1, scores=evaluate.scores(outputs),
                           outputs=outputs, wall_seconds=1.0),
        study=None, config_hash='h', pretrained=None, skipped={})
  assert result == json.loads((run_dir / 'result.json').read_text())
  return result


def test_selected_epoch_and_scores_match_a_wilds_style_evaluation(tmp_path):
  (tmp_path / 'wilds').mkdir()
  _write_wilds_files(tmp_path / 'wilds')
  reference = _wilds_reference(tmp_path / 'wilds')
  assert [reference[r]['epoch'] for r in ('ood_val', 'id_val', 'last')] == [1, 2, 3]
  result = _project_result(tmp_path / 'wilds', tmp_path / 'run')
  assert result['selection']['rule'] == 'ood_val'
  assert result['selection']['epoch'] == reference['ood_val']['epoch'] + 1  # epochs done
  assert result['metrics']['id']['macro_f1'] == reference['ood_val']['id']
  assert result['metrics']['ood']['macro_f1'] == reference['ood_val']['ood']
  for rule, expected in reference.items():
    chosen = result['selections'][rule]
    assert chosen['epoch'] == expected['epoch'] + 1
    assert chosen['metrics']['id']['macro_f1'] == expected['id']
    assert chosen['metrics']['ood']['macro_f1'] == expected['ood']
