"""parse_arg: the one parser of config-file args (`configs/x.py:local,lr=1e-3`)."""
import pytest

from jaxrobust import config_args as args
from jaxrobust.study import recipes


def test_words_set_bools_and_values_take_the_type_of_their_default():
  parsed = args.parse_arg('local, lr=1e-3,seed=2', local=False, test=False, lr=float, seed=0)
  assert (parsed.local, parsed.test, parsed.lr, parsed.seed) == (True, False, 1e-3, 2)


def test_a_type_means_no_default():
  assert args.parse_arg(None, lr=float).lr is None


@pytest.mark.parametrize('arg, message', [
    ('lcoal', "Unknown config arg 'lcoal'; use local, lr=..."),
    ('local=1', "Unknown config arg 'local=1'"),
    ('lr', "Unknown config arg 'lr'"),
    ('lr=fast', "lr needs a float"),
])
def test_bad_parts_are_refused_naming_the_valid_ones(arg, message):
  with pytest.raises(ValueError, match=message):
    args.parse_arg(arg, local=False, lr=float)


def test_study_arg_test_needs_local():
  with pytest.raises(ValueError, match="use 'local,test'"):
    recipes.parse_study_arg('test')
  assert recipes.scale(recipes.parse_study_arg('local,test')) == 'test'
