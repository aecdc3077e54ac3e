"""The analysis CLI on fabricated results with known effects gives each verdict as built."""
import subprocess
import sys

import numpy as np
import pandas as pd

import analysis_fixtures as fixtures
from jaxrobust.analysis import transforms

NUM_EXAMPLES = 10_000  # per split: each model's ER carries under a point of test-set noise
# source -> (true ER of each model in points): twins with the same ER, a group 7 points
# above them, and a group of 3 whose runs spread widely around the twins' ER
GROUPS = {'twin_a': [3.0] * 8, 'twin_b': [3.0] * 8, 'shifted': [10.0] * 8,
          'noisy': [-6.0, 3.0, 12.0]}


def _write_known_effects(workdir, slope=1.1, intercept=-0.6):
  rng = np.random.default_rng(0)
  logit = transforms.get_transform('logit')
  def ood(id_score, er=0.0):
    return float(logit.inverse(slope * logit(id_score) + intercept)) + er / 100
  def test_set(score):
    return fixtures.test_set(rng, score, num_examples=NUM_EXAMPLES)
  for i, id_score in enumerate(np.linspace(0.3, 0.8, 10)):
    fixtures.write_run(workdir, f'scratch_{i}', 'scratch', test_set(id_score),
                       test_set(ood(id_score)), seed=i)
  for source, ers in GROUPS.items():
    for s, (id_score, er) in enumerate(zip(np.linspace(0.45, 0.75, len(ers)), ers)):
      pretrain = {**fixtures.pretrain_setting(100_000, seed=s), 'source': source}
      fixtures.write_run(workdir, f'{source}_{s}', 'finetune', test_set(id_score),
                         test_set(ood(id_score, er)), pretrain=pretrain, seed=s)


def test_cli_finds_equivalent_different_and_inconclusive_groups_as_constructed(tmp_path):
  workdir, out = tmp_path / 'study', tmp_path / 'report'
  _write_known_effects(workdir)
  done = subprocess.run(
      [sys.executable, '-m', 'jaxrobust.analysis', str(workdir), f'--out={out}',
       '--group_by=pretrain.source', '--num_resamples=500'],
      capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  differences = pd.read_csv(out / 'group_differences.csv')
  verdict = {frozenset((a.removeprefix('source: '), b.removeprefix('source: '))): v
             for a, b, v in zip(differences['group_a'], differences['group_b'],
                                differences['verdict'])}
  print(differences.to_string(index=False))
  assert verdict[frozenset(('twin_a', 'twin_b'))] == 'equivalent'
  assert verdict[frozenset(('shifted', 'twin_a'))] == 'different'
  assert verdict[frozenset(('shifted', 'twin_b'))] == 'different'
  assert verdict[frozenset(('noisy', 'twin_a'))] == 'inconclusive'
  assert verdict[frozenset(('noisy', 'twin_b'))] == 'inconclusive'
  assert (differences['margin'] == 2.0).all()
  groups = pd.read_csv(out / 'group_table.csv').set_index('group')
  assert groups.loc['source: shifted', 'verdict'] == 'different'
  assert groups.loc['source: noisy', 'verdict'] == 'inconclusive'
  lines = pd.read_csv(out / 'line_differences.csv')
  twins = lines[lines['group_a'].str.contains('twin') & lines['group_b'].str.contains('twin')]
  assert twins['verdict'].tolist() == ['equivalent']
  # the console's Findings say the same, in the same words
  printed = done.stdout
  assert ('(source: twin_a minus source: twin_b): ' in printed
          or '(source: twin_b minus source: twin_a): ' in printed)
  findings = [line for line in printed.splitlines() if ' minus ' in line and 'lines' not in line]
  words = {frozenset(w for w in ('twin_a', 'twin_b', 'shifted', 'noisy') if w in line):
           line.split('); ')[1].split(' ')[0].rstrip(':') for line in findings}
  assert words[frozenset(('twin_a', 'twin_b'))] == 'equivalent'
  assert words[frozenset(('shifted', 'twin_a'))] == 'different'
  assert words[frozenset(('noisy', 'twin_b'))] == 'inconclusive'
