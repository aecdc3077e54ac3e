"""The generated (offline) datasets, and their names re-seeded for another world.

A study's `data_seed` re-seeds every generated dataset it reads through the builder-config
override in the TFDS name (`synthetic_wildcam/small/seed=3`), so the pre-training source and
the benchmark it transfers to share one generated world per seed. Importing this module reads
no data and registers no builder.
"""
GENERATED = ('diffusion_imagenet', 'fractaldb', 'fractal_hierarchy', 'synthetic_nature',
             'synthetic_wildcam')


def reseeded(name: str, seed: int | None) -> str:
  """`name` (TFDS `builder/config[/overrides]`) with config field `seed` set; others as is.

  Seed None or 0 keeps the name: the default world is the builders' own configs.
  """
  builder, _, rest = name.partition('/')
  if not seed or builder not in GENERATED:
    return name
  config, _, overrides = rest.partition('/')
  if not config or ':' in config:
    raise ValueError(f'{name!r}: name a builder config without a version (e.g. '
                     f'{builder}/small) to re-seed it with data_seed.')
  kept = [o for o in overrides.split(',') if o and not o.startswith('seed=')]
  return f'{builder}/{config}/' + ','.join(kept + [f'seed={int(seed)}'])
