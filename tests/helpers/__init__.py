"""Test helpers, imported as `tests.helpers.<module>` (tests/ is a package; no sys.path edits).

  configs      REPO and load_config: configs/<name>.py:get_config(arg), loaded as --config does
  engine       the tiny engine run (tiny_config) and CLI subprocess helpers
  forked_cli   many `python -m jaxrobust.main` runs forked from one start-up (run_main_many)
  toy_data     toy TFDS image datasets (tiny_images, ft_pretrain_images)
  finetune     the fine-tune stage's runs and checkpoint readers
  subsets      toy hierarchical bases for subsets, subset specs
  study        a small study and a fake engine
  real_formats tiny copies of the official download formats (WILDS, ILSVRC, iNat)
"""
