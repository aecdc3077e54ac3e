"""The run's metric writer: clu MultiWriter of TensorBoard events + metrics.jsonl."""
from collections.abc import Mapping
import json
from typing import Any

from clu import metric_writers
from etils import epath
import jax
import numpy as np

METRICS_FILE = 'metrics.jsonl'


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


def drop_records_after(path: str | epath.Path, step: int) -> None:
  """Removes records past `step` (written by a run that was then killed and resumed)."""
  path = epath.Path(path)
  if not path.exists():
    return
  kept = [r for r in read_metrics(path) if r.get('step', -1) <= step]
  path.write_text(''.join(json.dumps(r) + '\n' for r in kept))


def create_writer(run_dir: str | epath.Path) -> metric_writers.MetricWriter:
  """TensorBoard + metrics.jsonl on process 0; writes nothing on other processes."""
  if jax.process_index() > 0:
    return metric_writers.MultiWriter([])
  run_dir = epath.Path(run_dir)
  return metric_writers.MultiWriter([
      metric_writers.SummaryWriter(str(run_dir)),
      JsonlWriter(run_dir / METRICS_FILE)])
