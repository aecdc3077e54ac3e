"""Config helpers of jaxrobust: run defaults, config-arg parsing, study templates.

Config files (`configs/<name>.py`, passed as `--config=`) import these:
  defaults.run_defaults()   every field of one training run
  args.parse_arg(arg, ...)  'local,lr=1e-3' -> ConfigDict (big_vision style)
  study_common              study templates per scale, subset specs, settings
"""
