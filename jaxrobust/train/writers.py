"""The run's metric writer: clu MultiWriter of TensorBoard events + metrics.jsonl."""
from collections.abc import Callable, Mapping
import json
from typing import Any

from clu import metric_writers
from etils import epath
import jax
import numpy as np

METRICS_FILE = 'metrics.jsonl'
EVAL = 'eval/'  # prefix of the evaluation scalars


def _scalar(value) -> float | int:
  value = np.asarray(value).item()
  return value if isinstance(value, int) else float(value)


class JsonlWriter(metric_writers.MetricWriter):
  """Writes every `write_scalars` call as one JSON line `{"step": s, name: value, ...}`."""

  def __init__(self, path: str | epath.Path):
    self._path = epath.Path(path)
    self._path.parent.mkdir(parents=True, exist_ok=True)
    self._file = self._path.open('a')

  def write_scalars(self, step: int, scalars: Mapping[str, Any]):
    if not scalars:  # e.g. the final evaluation of a run without eval splits
      return
    record = {'step': int(step), **{k: _scalar(v) for k, v in scalars.items()}}
    self._file.write(json.dumps(record) + '\n')
    self._file.flush()  # each line is on disk even if the run is killed

  # Only scalars go to metrics.jsonl (the config is in config.json); other summaries are
  # TensorBoard's business.
  def write_hparams(self, hparams):
    pass

  def write_summaries(self, step, values, metadata=None):
    pass

  def write_images(self, step, images):
    pass

  def write_videos(self, step, videos):
    pass

  def write_audios(self, step, audios, *, sample_rate):
    pass

  def write_texts(self, step, texts):
    pass

  def write_histograms(self, step, arrays, num_buckets=None):
    pass

  def flush(self):
    self._file.flush()

  def close(self):
    self._file.close()


def read_metrics(path: str | epath.Path) -> list[dict[str, Any]]:
  """The records of a metrics.jsonl file, in order."""
  lines = epath.Path(path).read_text().splitlines()
  return [json.loads(line) for line in lines if line.strip()]


def _keep(step: int, final: bool) -> Callable[[int, str], bool]:
  """Whether a record (its step, its first name) belongs to the history kept at `step`."""
  return lambda s, name: s < step or (s == step and not (final and name.startswith(EVAL)))


def _trim_events(path: epath.Path, keep: Callable[[int, str], bool]) -> None:
  """Rewrites one TensorBoard event file with the kept events; removes it if none is left."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (clu's writer loads it anyway)
  records, kept_any = [], False
  try:
    for record in tf.compat.v1.io.tf_record_iterator(str(path)):
      event = tf.compat.v1.Event.FromString(record)
      if not event.HasField('summary'):  # file header
        records.append(record)
      elif keep(event.step, event.summary.value[0].tag if event.summary.value else ''):
        records.append(record)
        kept_any = True
  except tf.errors.DataLossError:  # the last record of a killed run may be cut short
    pass
  if not kept_any:
    path.unlink()
    return
  tmp = path.parent / f'{path.name}.tmp'
  with tf.io.TFRecordWriter(str(tmp)) as f:
    for record in records:
      f.write(record)
  tmp.replace(path)


def restart_history(run_dir: str | epath.Path, step: int, *, final: bool = False
                    ) -> list[dict[str, Any]]:
  """Drops what a killed attempt wrote past `step` (the step training restarts from).

  metrics.jsonl and the TensorBoard event files keep the records up to `step` (none when it
  is 0), so every step appears once; with `final` (the run resumes at its last step, only
  the final evaluation is left) that step's `eval/` records are dropped too, the evaluation
  writes them again. Event files left empty are removed. Returns the metrics.jsonl records kept.
  """
  run_dir = epath.Path(run_dir)
  keep = _keep(step, final)
  for events in run_dir.glob('events.out.tfevents.*'):
    _trim_events(events, keep)
  path = run_dir / METRICS_FILE
  if not path.exists():
    return []
  kept = []
  for line in path.read_text().splitlines():
    try:
      record = json.loads(line)
    except json.JSONDecodeError:  # a line cut short by a kill
      continue
    if keep(record.get('step', -1), next((k for k in record if k != 'step'), '')):
      kept.append(record)
  tmp = run_dir / f'{METRICS_FILE}.tmp'
  tmp.write_text(''.join(json.dumps(r) + '\n' for r in kept))
  tmp.replace(path)
  return kept


def create_writer(run_dir: str | epath.Path) -> metric_writers.MetricWriter:
  """TensorBoard + metrics.jsonl on process 0; writes nothing on other processes."""
  if jax.process_index() > 0:
    return metric_writers.MultiWriter([])
  run_dir = epath.Path(run_dir)
  return metric_writers.MultiWriter([
      metric_writers.SummaryWriter(str(run_dir)),
      JsonlWriter(run_dir / METRICS_FILE)])
