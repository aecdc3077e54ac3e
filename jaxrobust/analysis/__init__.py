"""Effective-robustness analysis of study results (numpy/pandas/scipy/matplotlib; no jax).

The names below load their module on first use, so `jaxrobust.analysis.confusion` (the
metrics the engine shares) imports without pandas or matplotlib.
"""
import importlib

_EXPORTS = {
    'Analysis': 'pipeline',
    'analyze': 'pipeline',
    'bootstrap_trend': 'bootstrap',
    'trend_band': 'bootstrap',
    'collect_results': 'load',
    'flatten_result': 'load',
    'load_predictions': 'load',
    'load_results': 'load',
    'split_complete': 'load',
    'write_results_csv': 'load',
    'plot_er_vs_property': 'plots',
    'plot_id_vs_ood': 'plots',
    'PowerPlan': 'power',
    'plan_from_analysis': 'power',
    'plan_power': 'power',
    'save_figure': 'plots',
    'report_dir': 'report',
    'save_report': 'report',
    'write_report': 'report',
    'console_group_table': 'summary',
    'findings': 'summary',
    'Trend': 'trend',
    'effective_robustness': 'trend',
    'fit_baseline_trend': 'trend',
    'fit_trend': 'trend',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name not in _EXPORTS:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  return getattr(importlib.import_module(f'{__name__}.{_EXPORTS[name]}'), name)
