"""analysis/effective_robustness.ipynb runs headless against fixture results."""
import pathlib

import nbclient
import nbformat

REPO = pathlib.Path(__file__).parents[2]
NOTEBOOK = REPO / 'analysis' / 'effective_robustness.ipynb'


def test_notebook_runs_headless_on_the_results_in_jaxrobust_results(study_dir, monkeypatch):
  monkeypatch.setenv('JAXROBUST_RESULTS', str(study_dir))
  monkeypatch.setenv('PYTHONPATH', str(REPO))  # the kernel imports this checkout's jaxrobust
  monkeypatch.delenv('MPLBACKEND', raising=False)
  nb = nbformat.read(NOTEBOOK, as_version=4)
  nb.cells.append(nbformat.v4.new_code_cell(
      'import sys\nassert "jax" not in sys.modules, "the notebook imported jax"\n'
      f'assert jra.__file__.startswith({str(REPO)!r}), jra.__file__'))
  nbclient.NotebookClient(nb, timeout=180, kernel_name='python3',
                          resources={'metadata': {'path': str(study_dir)}}).execute()
  outputs = [o for cell in nb.cells if cell.cell_type == 'code' for o in cell.outputs]
  images = [o for o in outputs if 'image/png' in o.get('data', {})]
  tables = [o for o in outputs if 'text/html' in o.get('data', {})]
  assert len(images) == 2  # OOD vs ID, ER vs num_examples
  assert any('ft_1000000_2' in o['data']['text/html'] for o in tables)  # the per-model table
  printed = ''.join(o.get('text', '') for o in outputs)
  assert 'ER (macro-F1 points)' in printed and '- Pre-training on 1,000,000 images' in printed
  assert 'verdict vs trend' in printed and 'different (the 95% interval excludes 0)' in printed
