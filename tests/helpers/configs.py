"""The repository root and the config files in it, loaded by path as `--config=` does."""
import importlib.util
import pathlib
import types

import ml_collections

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_module(name: str) -> types.ModuleType:
  """configs/<name>.py as a module (config files are not a package)."""
  spec = importlib.util.spec_from_file_location(f'configs_{name}', REPO / 'configs' / f'{name}.py')
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_config(name: str, arg: str | None = None) -> ml_collections.ConfigDict:
  """configs/<name>.py:get_config(arg) (no arg: `get_config()`)."""
  module = load_module(name)
  return module.get_config(arg) if arg is not None else module.get_config()
