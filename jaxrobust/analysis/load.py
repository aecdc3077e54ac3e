"""Study results as one DataFrame: runs/<run_id>/result.json and results.csv, local or gs://.

One row per evaluated model: `result.json` (schema in DESIGN.md) flattened with
dotted column names (`pretrain.num_examples`, `metrics.id.macro_f1`, ...). Rows
loaded by `load_results` also carry `workdir`, the folder holding that row's
`runs/<run_id>/predictions_<split>.npz`.
"""
from collections.abc import Sequence
import io
import json
import math
import pathlib
from typing import Any

from absl import logging
import numpy as np
import pandas as pd

from jaxrobust.analysis import errors

RESULTS_CSV = 'results.csv'
WORKDIR_COLUMN = 'workdir'
_FIRST_COLUMNS = ('run_id', 'study', 'kind')
_SECTION_ORDER = ('pretrain.', 'finetune.', 'metrics.')
READ_SKIPPED = 'read_skipped'  # DataFrame.attrs key: results.csv rows that could not be read
# Columns of results.csv that hold numbers: <section>...<field> (and wall_seconds).
_NUMERIC_SECTIONS = ('pretrain', 'finetune', 'metrics', 'selection', 'selections')
_NUMERIC_FIELDS = frozenset({
    'macro_f1', 'accuracy', 'num_examples', 'num_classes', 'images_per_class',
    'diversity_ratio', 'seed', 'steps', 'step', 'lr', 'epochs', 'epoch', 'batch_size',
    'resolution', 'score', 'num_evaluations', 'every_epochs', 'target_classes_covered',
    'target_classes'})


def open_path(path) -> Any:
  """A pathlib-like path; `gs://` and other URLs go through etils epath."""
  path = str(path)
  if '://' in path:
    from etils import epath  # pylint: disable=g-import-not-at-top  # only for remote paths
    return epath.Path(path)
  return pathlib.Path(path)


def flatten_result(result: dict, prefix: str = '') -> dict:
  """One flat row from a result.json dict: nested keys joined by dots.

  Null values (e.g. `pretrain` of a scratch run) are left out, so they read back
  as empty cells; lists are kept as JSON text.
  """
  row = {}
  for key, value in result.items():
    name = f'{prefix}{key}'
    if isinstance(value, dict):
      row.update(flatten_result(value, f'{name}.'))
    elif isinstance(value, (list, tuple)):
      row[name] = json.dumps(value)
    elif value is not None:
      row[name] = value
  return row


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
  """Columns in schema order: run_id, study, kind, pretrain.*, finetune.*, metrics.*, rest."""
  def rank(column):
    if column in _FIRST_COLUMNS:
      return (0, _FIRST_COLUMNS.index(column))
    for i, prefix in enumerate(_SECTION_ORDER):
      if column.startswith(prefix):
        return (1 + i, 0)
    return (1 + len(_SECTION_ORDER), 0)
  return df[sorted(df.columns, key=rank)]  # sorted() is stable: keeps first-seen order


def collect_results(workdir) -> pd.DataFrame:
  """One flattened row per evaluated model (`runs/<run_id>/result.json`), sorted by run id."""
  rows = []
  root = open_path(workdir)
  for path in sorted(root.glob('runs/*/result.json')):
    try:
      result = json.loads(path.read_text())
    except json.JSONDecodeError as e:
      raise errors.AnalysisError(
          f'{path} is not valid JSON ({e}); delete it and re-run the study to rewrite it.') from e
    result.setdefault('run_id', str(path.parent.relative_to(root / 'runs')))
    rows.append(flatten_result(result))
  if not rows:
    return pd.DataFrame(columns=list(_FIRST_COLUMNS))
  return _ordered(pd.DataFrame(rows)).sort_values('run_id', ignore_index=True)


def write_results_csv(workdir, path=None) -> str:
  """Writes `collect_results(workdir)` to `path` (default `workdir/results.csv`)."""
  path = open_path(path or open_path(workdir) / RESULTS_CSV)
  path.write_text(collect_results(workdir).to_csv(index=False))
  return str(path)


def _is_numeric_column(column: str) -> bool:
  return column == 'wall_seconds' or (column.split('.')[0] in _NUMERIC_SECTIONS
                                      and column.rsplit('.', 1)[-1] in _NUMERIC_FIELDS)


def _row_problem(row: pd.Series) -> str:
  """Why a results.csv row (all cells as text) cannot be read; '' when it can."""
  if not row.get('run_id'):
    return 'no run_id'
  for column, value in row.items():
    if value and _is_numeric_column(str(column)):
      try:
        float(value)
      except ValueError:
        return f'not a number: {column}={value!r}'
  return ''


def read_results_csv(path) -> pd.DataFrame:
  """A results.csv as written by `write_results_csv`, read strictly.

  Metric and property columns must hold numbers. A row that cannot be read is left out with
  a warning and its reason, listed in the frame's `attrs[READ_SKIPPED]` (`split_complete`
  reports it with the rows it skips); the other rows read exactly as without it.
  """
  skipped = []
  def bad_line(fields: list[str]) -> None:
    skipped.append({'run_id': fields[0] if fields else '',
                    'reason': f'a line of {len(fields)} fields, more than the header has'})
  text = open_path(path).read_text()
  cells = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, engine='python',
                      on_bad_lines=bad_line)
  reasons = cells.apply(_row_problem, axis=1) if len(cells) else pd.Series(dtype=str)
  skipped += [{'run_id': cells.at[i, 'run_id'] if 'run_id' in cells else '', 'reason': reason}
              for i, reason in reasons[reasons != ''].items()]
  good = cells.loc[reasons == ''] if len(cells) else cells
  # Rewritten from the text of the good rows: each column gets the type it has without the others.
  df = pd.read_csv(io.StringIO(good.to_csv(index=False)))
  for row in skipped:
    logging.warning('Skipping a row of %s (run %s): %s.', path, row['run_id'] or '?',
                    row['reason'])
  df.attrs[READ_SKIPPED] = skipped
  return df


def _load_one(path: str) -> pd.DataFrame:
  """Rows of one workdir (its result.json files, else its results.csv) or one csv file."""
  p = open_path(path)
  if p.name.endswith('.csv'):
    if not p.exists():
      raise errors.AnalysisError(f'{p} does not exist: pass a study workdir or its results.csv.')
    df, workdir = read_results_csv(p), p.parent
  elif (p / 'runs').is_dir():
    df, workdir = collect_results(p), p
  elif (p / RESULTS_CSV).exists():
    df, workdir = read_results_csv(p / RESULTS_CSV), p
  else:
    raise errors.AnalysisError(
        f'No runs/<run_id>/result.json or {RESULTS_CSV} under {p}: pass a study workdir '
        f'(--workdir of jaxrobust.main) or a results.csv file.')
  if 'run_id' not in df.columns:
    raise errors.AnalysisError(f'{path} has no run_id column; is it a jaxrobust results.csv?')
  df[WORKDIR_COLUMN] = str(workdir)
  df.attrs[READ_SKIPPED] = [{**row, WORKDIR_COLUMN: str(workdir)}
                            for row in df.attrs.get(READ_SKIPPED, [])]
  return df


def _normalized(value) -> Any:
  """A cell value in a form comparable across JSON and CSV round trips."""
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return None
  if isinstance(value, (bool, np.bool_)):
    return str(bool(value))
  if isinstance(value, (int, float, np.integer, np.floating)):
    return float(value)
  return str(value)


def _same_content(a: pd.Series, b: pd.Series) -> list[str]:
  """The columns (other than workdir) where two rows differ."""
  differ = []
  for column in a.index.union(b.index):
    if column == WORKDIR_COLUMN:
      continue
    x, y = _normalized(a.get(column)), _normalized(b.get(column))
    if isinstance(x, float) and isinstance(y, float):
      same = math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    else:
      same = x == y
    if not same:
      differ.append(column)
  return differ


def deduplicate(df: pd.DataFrame) -> pd.DataFrame:
  """Drops repeated run ids with identical content; refuses ones whose content differs."""
  keep = []
  for run_id, rows in df.groupby('run_id', sort=False):
    first = rows.iloc[0]
    for _, other in rows.iloc[1:].iterrows():
      differ = _same_content(first, other)
      if differ:
        raise errors.AnalysisError(
            f'Run id {run_id!r} appears twice with different content (columns {differ[:5]}) '
            f'in {first.get(WORKDIR_COLUMN)} and {other.get(WORKDIR_COLUMN)}: pass only one of '
            f'these results or remove the stale copy.')
    keep.append(rows.index[0])
  if len(keep) < len(df):
    logging.info('Dropped %d identical duplicate rows.', len(df) - len(keep))
  return df.loc[keep].reset_index(drop=True)


def load_results(paths: str | Sequence[str]) -> pd.DataFrame:
  """Rows of all given workdirs / results.csv files (local or gs://), duplicates checked."""
  paths = [paths] if isinstance(paths, (str, pathlib.Path)) else list(paths)
  if not paths:
    raise errors.AnalysisError(
        'No results given: pass one or more study workdirs or results.csv files.')
  frames = [_load_one(str(p)) for p in paths]
  skipped = [row for f in frames for row in f.attrs.get(READ_SKIPPED, [])]
  frames = [f for f in frames if len(f)]
  if not frames:
    raise errors.AnalysisError(f'No results found in {paths}: no run has written result.json yet.')
  df = deduplicate(_ordered(pd.concat(frames, ignore_index=True)))
  df.attrs[READ_SKIPPED] = skipped
  return df


def metric_columns(metric: str) -> tuple[str, str]:
  """The ID and OOD columns of `metric`, e.g. metrics.id.macro_f1, metrics.ood.macro_f1."""
  return f'metrics.id.{metric}', f'metrics.ood.{metric}'


def split_complete(df: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, pd.DataFrame]:
  """(rows with ID and OOD `metric` in [0, 1], skipped rows with run_id and reason).

  The skipped rows include those of results.csv that could not be read (`attrs[READ_SKIPPED]`).
  """
  reasons = pd.Series('', index=df.index, dtype=object)
  for column in metric_columns(metric):
    values = pd.to_numeric(df[column], errors='coerce') if column in df else pd.Series(
        np.nan, index=df.index)
    reasons.loc[values.isna() & (reasons == '')] = f'no {column}'
    reasons.loc[((values < 0) | (values > 1)) & (reasons == '')] = f'{column} outside [0, 1]'
  bad = reasons != ''
  skipped = pd.DataFrame({'run_id': df.loc[bad, 'run_id'], 'reason': reasons[bad]})
  if WORKDIR_COLUMN in df:
    skipped[WORKDIR_COLUMN] = df.loc[bad, WORKDIR_COLUMN]
  for row in skipped.itertuples():
    logging.warning('Skipping run %s: %s.', row.run_id, row.reason)
  unreadable = pd.DataFrame(df.attrs.get(READ_SKIPPED, []), columns=skipped.columns)
  skipped = pd.concat([unreadable, skipped], ignore_index=True) if len(unreadable) else skipped
  return df.loc[~bad].reset_index(drop=True), skipped.reset_index(drop=True)


SELECTION_RULES = ('ood_val', 'id_val', 'last')  # jaxrobust.study.selection.RULES
_SELECTED_COLUMNS = ('split', 'macro_f1', 'accuracy', 'num_examples')
_SELECTION_FIELDS = ('epoch', 'step', 'predictions')


def apply_selection(df: pd.DataFrame, rule: str) -> pd.DataFrame:
  """Rows whose metrics.id / metrics.ood are the model selection rule `rule` picked.

  Reads each row's `selections.<rule>.*` (result.json); rows without them (no model selection
  recorded) are left as they are. Per-class columns of another epoch's model are blanked.
  """
  if rule not in SELECTION_RULES:
    raise errors.AnalysisError(f'--selection={rule!r}; use one of {list(SELECTION_RULES)}.')
  prefix = f'selections.{rule}.'
  if f'{prefix}step' not in df:
    return df
  df = df.copy()
  has = df[f'{prefix}step'].notna()
  moved = has & (df[f'{prefix}step'] != df.get('selection.step'))
  for role in ('id', 'ood'):
    for column in _SELECTED_COLUMNS:
      df.loc[has, f'metrics.{role}.{column}'] = df.loc[has, f'{prefix}metrics.{role}.{column}']
    for column in ('classes', 'per_class_f1'):
      if f'metrics.{role}.{column}' in df:
        df.loc[moved, f'metrics.{role}.{column}'] = np.nan
  df.loc[has, 'selection.rule'] = rule
  for field in ('split', *_SELECTION_FIELDS):
    source = df.get(f'{prefix}{field}')  # None: null in every row (`last` has no split)
    df.loc[has, f'selection.{field}'] = np.nan if source is None else source[has]
  return df


def load_predictions(row: pd.Series, split: str) -> tuple[np.ndarray, np.ndarray] | None:
  """(labels, predictions) of the row's model, None if absent.

  `runs/<run_id>/<selection.predictions>/predictions_<split>.npz` (the folder of the selected
  model; the run folder itself without model selection).
  """
  if pd.isna(row.get(WORKDIR_COLUMN)):
    return None
  folder = row.get('selection.predictions')
  run_dir = open_path(row[WORKDIR_COLUMN]) / 'runs' / str(row['run_id'])
  path = (run_dir if pd.isna(folder) else run_dir / str(folder)) / f'predictions_{split}.npz'
  if not path.exists():
    return None
  with np.load(io.BytesIO(path.read_bytes())) as npz:
    if 'labels' not in npz or 'predictions' not in npz:
      raise errors.AnalysisError(
          f'{path} lacks the arrays "labels" and "predictions" (has {npz.files}).')
    return npz['labels'], npz['predictions']
