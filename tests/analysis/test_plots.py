"""ER-vs-property plots compare only groups that differ in that property alone."""
import numpy as np
import pandas as pd

from jaxrobust.analysis import plots


def test_series_join_groups_that_share_every_other_property_missing_values_included():
  groups = pd.DataFrame({
      'pretrain.num_examples': [100, 6000, 3000, 3000],
      'pretrain.num_classes': [100, 100, 100, 100],
      'pretrain.part': [np.nan, np.nan, '1/2', '2/2'],  # only the placebo pair has a part
  })
  by = list(groups.columns)
  series = plots._series(groups, 'pretrain.num_examples', by)  # pylint: disable=protected-access
  assert [s.tolist() for s in series] == [[0, 1]]  # same classes, no part: quantity alone
  series = plots._series(groups, 'pretrain.part', by)  # pylint: disable=protected-access
  assert [s.tolist() for s in series] == [[2, 3]]
  assert plots._series(groups, 'pretrain.num_classes', by) == []  # pylint: disable=protected-access
