"""Estimated device-hours of planned runs, from measured train-step throughput.

The figures are rows `python -m jaxrobust.bench train --record[=FILE]` writes: images/s of
the engine's train step on a device batch for one (device, model, stem, width, dtype,
resolution). They are read from the user's cache (`cache_path()`, what `--record` writes
by default: a short probe on this machine) and from `step_times.json` beside this module
(figures measured for this project, each row naming its command); the cache wins. A run
at a resolution that was not measured is scaled from the nearest measured one by pixel
count (a conv net's FLOPs grow with it) and marked `~`. Training steps only: evaluation
and input stalls come on top.
"""
from collections.abc import Sequence
import dataclasses
import json
import os
import pathlib
import platform

from jaxrobust.study.console import format_table
from jaxrobust.study.plan import PlannedRun

SHIPPED_TABLE = pathlib.Path(__file__).with_name('step_times.json')
MODEL_KEYS = ('arch', 'stem', 'width', 'dtype')


def cache_path() -> pathlib.Path:
  """The user's table of probed step times ($XDG_CACHE_HOME/jaxrobust/step_times.json)."""
  cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return pathlib.Path(cache) / 'jaxrobust' / 'step_times.json'


def device_name(device_kind: str, device_count: int) -> str:
  """'8 x TPU v5 lite'; CPUs (whose JAX device kind is just 'cpu') by model and cores."""
  if device_kind != 'cpu':
    return f'{device_count} x {device_kind}'
  model = platform.processor() or platform.machine()
  cpuinfo = pathlib.Path('/proc/cpuinfo')
  if cpuinfo.exists():
    for line in cpuinfo.read_text().splitlines():
      if line.startswith('model name'):
        model = line.split(':', 1)[1].strip()
        break
  return f'{model}, {os.cpu_count()} cores (cpu)'


def current_device() -> str:
  """`device_name` of the devices JAX runs on here (starts JAX's backend)."""
  import jax  # pylint: disable=import-outside-toplevel  (only the dry run asks)
  return device_name(jax.devices()[0].device_kind, jax.device_count())


def read_rows(path: pathlib.Path) -> list[dict]:
  """The rows of one step-time table ([] when the file does not exist)."""
  return json.loads(path.read_text())['rows'] if path.exists() else []


def known_rows() -> list[dict]:
  """The user's cached rows, then the shipped ones."""
  return read_rows(cache_path()) + read_rows(SHIPPED_TABLE)


def record_rows(path: pathlib.Path, rows: Sequence[dict]) -> None:
  """Adds `rows` to the table at `path`, replacing rows measured for the same setting."""
  key = lambda row: (row['device'], row['resolution'], *(row[k] for k in MODEL_KEYS))
  new = {key(row) for row in rows}
  kept = [row for row in read_rows(path) if key(row) not in new]
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({'rows': kept + list(rows)}, indent=1) + '\n')


@dataclasses.dataclass(frozen=True)
class Estimate:
  """Throughput a run is estimated at, and where it came from."""
  images_per_s: float
  scaled_from: int | None  # the measured resolution, when the run's was not measured
  devices: int


def _model_key(config) -> tuple:
  model = config.model
  return (model.name, model.stem, float(model.get('width', 1.0)), model.dtype)


def estimate(config, device: str, rows: Sequence[dict]) -> Estimate | None:
  """The run's train-step images/s on `device` from `rows` (earlier rows win); None if unknown."""
  same = [r for r in rows if r['device'] == device
          and (r['arch'], r['stem'], float(r['width']), r['dtype']) == _model_key(config)]
  if not same:
    return None
  resolution = config.data.image_size
  row = min(same, key=lambda r: abs(r['resolution'] - resolution))
  scale = (row['resolution'] / resolution) ** 2
  return Estimate(row['images_per_s'] * scale,
                  None if row['resolution'] == resolution else row['resolution'],
                  row['devices'])


def device_hours(run: PlannedRun, est: Estimate | None) -> float | None:
  """Device-hours of the run's training steps (None when its steps or speed are unknown)."""
  if est is None or run.steps is None:
    return None
  return run.steps * run.config.batch_size / est.images_per_s * est.devices / 3600


def _total_line(hours: float, unknown: int, num_runs: int) -> str:
  """The study's total: `unknown` where no run could be priced, never a bare 0."""
  if unknown == num_runs:
    return f'Study total: unknown ({num_runs} run(s) with no measured step time on this device)'
  return (f'Study total: {hours:.3g} device-hours'
          + (f' + {unknown} run(s) of unknown cost' if unknown else ''))


def cost_table(runs: Sequence[PlannedRun], device: str, rows: Sequence[dict]) -> str:
  """One line per run (model, images/s, device-hours) and the study's total, on `device`."""
  lines, total, unknown, missing = [], 0.0, 0, set()
  for run in runs:
    est = estimate(run.config, device, rows)
    hours = device_hours(run, est)
    model = '/'.join(str(v) for v in _model_key(run.config))
    model_at = f'{model} @{run.config.data.image_size}px'
    if est is None:
      missing.add((*_model_key(run.config), run.config.data.image_size))
    rate = ('?' if est is None else
            f'{"~" if est.scaled_from else ""}{est.images_per_s:,.0f}')
    if hours is None:
      unknown += 1
    else:
      total += hours
    lines.append([run.run_id, model_at, run.steps or '?', rate,
                  '?' if hours is None else f'{hours:.3g}'])
  text = [f'Estimated training cost on {device} (train steps only; ~ = scaled from another '
          'resolution):',
          format_table(['run id', 'model @ resolution', 'steps', 'images/s', 'device-hours'],
                       lines),
          _total_line(total, unknown, len(runs))]
  if missing:
    text.append(f'No step time measured on this device for {len(missing)} model(s); a short '
                f'probe measures each once (cached in {cache_path()}):')
    text += [f'  python -m jaxrobust.bench train --record --skip_input --torch_rounds=0 '
             f'--archs={arch} --stem={stem} --width={width:g} --dtype={dtype} '
             f'--resolutions={resolution}'
             for arch, stem, width, dtype, resolution in sorted(missing)]
  return '\n'.join(text)
