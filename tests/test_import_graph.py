"""The package's layers, read from the source (AST): no import cycle, the engine imports downward.

Every `import` / `from ... import` of a jaxrobust module counts, at module or function level;
importing `a.b.c` also runs the packages `a.b` and `a` (unless the importer lives inside them).
"""
import ast
import json
import pathlib
import subprocess
import sys

import pytest

from tests.helpers.configs import REPO

PACKAGE = REPO / 'jaxrobust'
# What the engine must not import: the study layer, entry points, dataset building, the
# analysis. It reads datasets through jaxrobust.input and scores with jaxrobust.metrics.
ABOVE_THE_ENGINE = ('jaxrobust.study', 'jaxrobust.main', 'jaxrobust.bench', 'jaxrobust.cli',
                    'jaxrobust.datasets', 'jaxrobust.analysis')


def _module_name(path: pathlib.Path) -> str:
  parts = path.relative_to(REPO).with_suffix('').parts
  return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules() -> dict[str, pathlib.Path]:
  return {_module_name(p): p for p in PACKAGE.rglob('*.py')}


def _imported(name: str, path: pathlib.Path, modules) -> set[str]:
  """The jaxrobust modules `name` imports (a `from m import x` names m.x when it is a module)."""
  is_package = path.name == '__init__.py'
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      found |= {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ''
      if node.level:  # relative import
        anchor = name.split('.') if is_package else name.split('.')[:-1]
        base = '.'.join(anchor[:len(anchor) - node.level + 1] + ([base] if base else []))
      found.add(base)
      found |= {f'{base}.{alias.name}' for alias in node.names
                if f'{base}.{alias.name}' in modules}
  targets = set()
  for target in found:
    if not target.startswith('jaxrobust'):
      continue
    parts = target.split('.')
    for i in range(1, len(parts) + 1):  # the packages on the way run too
      prefix = '.'.join(parts[:i])
      if prefix in modules and not (name == prefix or name.startswith(prefix + '.')):
        targets.add(prefix)
  return targets


def import_graph() -> dict[str, set[str]]:
  """{module: jaxrobust modules it imports} over the whole package."""
  modules = _modules()
  return {name: _imported(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  """One import cycle as a list of modules (first == last), or None."""
  state: dict[str, str] = {}
  stack: list[str] = []

  def visit(node: str) -> list[str] | None:
    state[node], _ = 'open', stack.append(node)
    for child in sorted(graph.get(node, ())):
      if state.get(child) == 'open':
        return stack[stack.index(child):] + [child]
      if child not in state and (cycle := visit(child)):
        return cycle
    state[node], _ = 'done', stack.pop()
    return None

  for node in sorted(graph):
    if node not in state and (cycle := visit(node)):
      return cycle
  return None


def test_find_cycle_finds_a_cycle():
  assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == ['a', 'b', 'c', 'a']
  assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_the_package_has_no_import_cycle():
  assert find_cycle(import_graph()) is None


def test_the_engine_imports_nothing_above_it():
  graph = import_graph()
  engine = {m: deps for m, deps in graph.items() if m.startswith('jaxrobust.train')}
  assert engine
  upward = {(m, d) for m, deps in engine.items() for d in deps
            if d.startswith(ABOVE_THE_ENGINE)}
  assert not upward


def test_the_engines_input_reads_datasets_without_building_them():
  graph = import_graph()
  found = {(m, d) for m, deps in graph.items() for d in deps
           if m.startswith('jaxrobust.input') and d.startswith(
               ('jaxrobust.datasets', 'jaxrobust.train', 'jaxrobust.study'))}
  assert not found


def test_dataset_building_does_not_import_the_study_or_the_engine():
  graph = import_graph()
  upward = {(m, d) for m, deps in graph.items() for d in deps
            if m.startswith('jaxrobust.datasets')
            and d.startswith(('jaxrobust.study', 'jaxrobust.train', 'jaxrobust.main'))}
  assert not upward


def test_metrics_are_shared_and_jax_free():
  graph = import_graph()
  assert 'jaxrobust.metrics' in graph['jaxrobust.train.evaluate']
  assert graph['jaxrobust.metrics'] <= {'jaxrobust.errors', 'jaxrobust'}


def test_the_analysis_imports_no_jax():
  for path in (PACKAGE / 'analysis').rglob('*.py'):
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert not {n for n in names if n.split('.')[0] in ('jax', 'flax', 'optax', 'orbax')}, path


_LOADED_AFTER_MAIN = '''
import json, runpy, sys
sys.argv = ['jaxrobust.main'] + sys.argv[1:]
try:
  runpy.run_module('jaxrobust.main', run_name='__main__')
except SystemExit as e:
  assert not e.code, e.code
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
'''


@pytest.mark.parametrize('config', ['configs/quickstart.py', 'configs/quantity.py:local,test'])
def test_a_dry_run_loads_no_flax_orbax_or_grain(config, tmp_path):
  result = subprocess.run(
      [sys.executable, '-c', _LOADED_AFTER_MAIN, f'--config={config}',
       f'--workdir={tmp_path / "w"}', '--dry_run'],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
      env={'PATH': '/usr/bin:/bin', 'TFDS_DATA_DIR': str(tmp_path / 'tfds'),
           'HOME': str(tmp_path)})
  assert result.returncode == 0, result.stderr[-3000:]
  loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
  assert 'jaxrobust' in loaded and not loaded & {'flax', 'orbax', 'grain'}
