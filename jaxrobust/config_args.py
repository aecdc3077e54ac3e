"""Config-file args: `--config=configs/x.py:local,lr=1e-3` -> a ConfigDict (big_vision style)."""
from typing import Any

import ml_collections


def _convert(key: str, text: str, kind: type) -> Any:
  try:
    return kind(text)
  except ValueError:
    raise ValueError(f'Config arg {key}={text!r}: {key} needs a {kind.__name__}.') from None


def parse_arg(arg: str | None, **spec: Any) -> ml_collections.ConfigDict:
  """Parses comma-separated `word` and `key=value` parts of a config arg against `spec`.

  Each `spec` entry is a default: a bool is set True by its bare word; an int, float or str
  takes `key=value` converted to its type; a type (`lr=float`) means "no default" (None
  unless given). Unknown parts raise ValueError naming the valid ones.
  """
  parsed = ml_collections.ConfigDict(
      {k: None if isinstance(v, type) else v for k, v in spec.items()})
  valid = ', '.join(k if isinstance(v, bool) else f'{k}=...' for k, v in spec.items())
  for part in (p.strip() for p in (arg or '').split(',')):
    if not part:
      continue
    key, has_value, value = part.partition('=')
    default = spec.get(key)
    if key not in spec or bool(has_value) == isinstance(default, bool):
      raise ValueError(f'Unknown config arg {part!r}; use {valid}.')
    parsed[key] = _convert(key, value, default if isinstance(default, type)
                           else type(default)) if has_value else True
  return parsed
