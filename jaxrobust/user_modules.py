"""The user's own modules (datasets, hierarchies): imported in every process before data is read.

A config's `imports` field names them, comma-separated (`--config.imports=mylab.datasets`);
installed packages may instead declare an entry point in the group `jaxrobust.datasets`
(pyproject.toml: `[project.entry-points."jaxrobust.datasets"] mylab = "mylab.datasets"`),
loaded in every process without any config. Importing a module registers its TFDS builders
(and any hierarchy file it registers), so a study can name its datasets like the built-in ones.
The study driver, its Ray tasks and every run entry call `load`.
"""
from collections.abc import Sequence
import importlib
from importlib import metadata
import os
import sys

from absl import logging

from jaxrobust.errors import ConfigError

ENTRY_POINT_GROUP = 'jaxrobust.datasets'


def module_names(imports: str | Sequence[str] | None) -> list[str]:
  """'a.b, c' -> ['a.b', 'c'] (a list or tuple is taken as it is)."""
  if not imports:
    return []
  parts = imports.split(',') if isinstance(imports, str) else imports
  return [p.strip() for p in parts if p.strip()]


def load(imports: str | Sequence[str] | None) -> None:
  """Imports the `jaxrobust.datasets` entry points, then the modules `imports` names."""
  for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
    if entry.module not in sys.modules:
      logging.info('Importing %s (entry point %s).', entry.module, entry.name)
      _import(entry.module, f'the {ENTRY_POINT_GROUP} entry point {entry.name!r}')
  for name in module_names(imports):
    _import(name, 'config.imports')


def _import(name: str, where: str) -> None:
  try:
    importlib.import_module(name)
  except Exception as e:  # pylint: disable=broad-except  (any failure is the user's module's)
    raise ConfigError(f'{where}: cannot import module {name!r} ({type(e).__name__}: {e}); '
                      'put its folder on PYTHONPATH (or install it) and check that it '
                      'imports.') from None


def package_dirs(imports: str | Sequence[str] | None) -> list[str]:
  """Folders of the top-level packages of the imported `imports`, which a Ray job ships to its
  workers (a single-file module is not shipped: it must be importable there already)."""
  dirs = []
  for name in module_names(imports):
    module = sys.modules.get(name.partition('.')[0])
    paths = list(getattr(module, '__path__', []))
    if paths and os.path.isdir(paths[0]) and paths[0] not in dirs:
      dirs.append(paths[0])
  return dirs
