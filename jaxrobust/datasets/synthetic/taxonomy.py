"""A generated taxonomy of animal-like and object-like classes, for pre-training.

Three levels, coarse to fine: an *order* fixes a body plan (animals) or an outline
(objects), a *family* perturbs it and fixes the coat pattern, a *species* perturbs the
family again and fixes its colour. Animals are drawn from the same body-plan space as
the camera-trap benchmark's classes (`animals.sample_class`), so features that tell
these species apart (silhouette, coat colour and pattern) are the features the
benchmark's classes differ by; objects (`objects.py`) are the non-animal kingdom.
"""
import colorsys
import dataclasses

import numpy as np

from jaxrobust.datasets.synthetic import animals
from jaxrobust.datasets.synthetic import objects

ANIMAL, OBJECT = 'animal', 'object'


@dataclasses.dataclass(frozen=True)
class Species:
  """One fine class: its kingdom and how to draw it (its order and family are its position)."""
  kingdom: str
  animal: animals.AnimalClass | None = None
  outline: objects.ObjectClass | None = None


def _jitter(rng: np.random.Generator, value: float, spread: float, low: float,
            high: float) -> float:
  return float(np.clip(value + rng.uniform(-spread, spread), low, high))


def _animal_family(rng: np.random.Generator, order: animals.AnimalClass) -> animals.AnimalClass:
  """The order's body plan, perturbed, with a pattern of the family's own."""
  return dataclasses.replace(
      order,
      body_height=_jitter(rng, order.body_height, 0.08, 0.3, 0.8),
      head_radius=_jitter(rng, order.head_radius, 0.06, 0.18, 0.55),
      neck_height=_jitter(rng, order.neck_height, 0.2, 0.0, 1.1),
      leg_length=_jitter(rng, order.leg_length, 0.12, 0.2, 1.1),
      tail_length=_jitter(rng, order.tail_length, 0.2, 0.0, 1.0),
      pattern=animals.PATTERNS[rng.integers(len(animals.PATTERNS))],
      pattern_freq=rng.uniform(2.0, 5.0))


def _species_colours(rng: np.random.Generator, count: int) -> list[tuple[float, float, float]]:
  """Colours of a family's species: hues spread evenly around the wheel from a random start,
  so that sibling species stay distinguishable under the photos' tint and exposure."""
  start = rng.uniform(0, 1)
  return [colorsys.hsv_to_rgb((start + k / count) % 1.0, rng.uniform(0.45, 0.85),
                              rng.uniform(0.45, 0.9)) for k in range(count)]


def _animal_species(rng: np.random.Generator, family: animals.AnimalClass,
                    colour: tuple[float, float, float]) -> animals.AnimalClass:
  return dataclasses.replace(
      family, coat_rgb=colour, size=rng.uniform(0.8, 1.2),
      pattern_freq=_jitter(rng, family.pattern_freq, 0.5, 1.5, 6.0),
      body_height=_jitter(rng, family.body_height, 0.03, 0.3, 0.8),
      leg_length=_jitter(rng, family.leg_length, 0.05, 0.2, 1.1))


def _object_species(rng: np.random.Generator, family: objects.ObjectClass,
                    colour: tuple[float, float, float]) -> objects.ObjectClass:
  return dataclasses.replace(family, rgb=colour, size=rng.uniform(0.8, 1.2),
                             wobble=_jitter(rng, family.wobble, 0.05, 0.0, 0.45))


def build_taxonomy(branching: tuple[int, int, int], animal_orders: int,
                   seed: int) -> list[Species]:
  """Species in order-major order: `branching` = (orders, families per order, species per family).

  The first `animal_orders` orders are animals, the rest objects.
  """
  num_orders, num_families, num_species = branching
  if not 0 <= animal_orders <= num_orders:
    raise ValueError(f'animal_orders={animal_orders} must be between 0 and the '
                     f'{num_orders} orders.')
  rng = np.random.default_rng([seed, 10])
  species = []
  for o in range(num_orders):
    kingdom = ANIMAL if o < animal_orders else OBJECT
    order = animals.sample_class(rng) if kingdom == ANIMAL else objects.sample_class(rng)
    for _ in range(num_families):
      colours = _species_colours(rng, num_species)
      if kingdom == ANIMAL:
        family = _animal_family(rng, order)
        species += [Species(ANIMAL, animal=_animal_species(rng, family, c))
                    for c in colours]
      else:
        family = objects.family_of(rng, order)
        species += [Species(OBJECT, outline=_object_species(rng, family, c))
                    for c in colours]
  return species
