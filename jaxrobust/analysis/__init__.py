"""Effective-robustness analysis of study results (numpy/pandas/scipy/matplotlib; no jax)."""
from jaxrobust.analysis.bootstrap import bootstrap_trend
from jaxrobust.analysis.bootstrap import trend_band
from jaxrobust.analysis.load import collect_results
from jaxrobust.analysis.load import flatten_result
from jaxrobust.analysis.load import load_predictions
from jaxrobust.analysis.load import load_results
from jaxrobust.analysis.load import split_complete
from jaxrobust.analysis.load import write_results_csv
from jaxrobust.analysis.pipeline import Analysis
from jaxrobust.analysis.pipeline import analyze
from jaxrobust.analysis.plots import plot_er_vs_property
from jaxrobust.analysis.plots import plot_id_vs_ood
from jaxrobust.analysis.plots import save_figure
from jaxrobust.analysis.power import PowerPlan
from jaxrobust.analysis.power import plan_from_analysis
from jaxrobust.analysis.power import plan_power
from jaxrobust.analysis.report import recorded_settings
from jaxrobust.analysis.report import report_dir
from jaxrobust.analysis.report import report_settings
from jaxrobust.analysis.report import save_report
from jaxrobust.analysis.report import write_report
from jaxrobust.analysis.summary import console_group_table
from jaxrobust.analysis.summary import findings
from jaxrobust.analysis.trend import Trend
from jaxrobust.analysis.trend import effective_robustness
from jaxrobust.analysis.trend import fit_baseline_trend
from jaxrobust.analysis.trend import fit_trend

__all__ = [
    'Analysis', 'PowerPlan', 'Trend', 'analyze', 'bootstrap_trend', 'collect_results',
    'console_group_table', 'effective_robustness', 'findings', 'fit_baseline_trend',
    'fit_trend', 'flatten_result', 'load_predictions', 'load_results',
    'plan_from_analysis', 'plan_power', 'plot_er_vs_property', 'plot_id_vs_ood',
    'recorded_settings', 'report_dir', 'report_settings', 'save_figure', 'save_report',
    'split_complete', 'trend_band', 'write_report', 'write_results_csv'
]
