"""The synthetic camera-trap world: classes, cameras, per-camera class priors, sequences, frames.

ID splits (`train`, `id_val`, `id_test`) draw sequences from the training cameras; OOD
splits (`val`, `test`) each from their own cameras, never seen in training, drawn with
`shift_strength`. Label 0 is an empty frame, as in iWildCam.
"""
import dataclasses
import datetime

import numpy as np

from jaxrobust.datasets.synthetic import animals, scenes, taxonomy

SPLITS = ('train', 'id_val', 'id_test', 'val', 'test')
ID_SPLITS = ('train', 'id_val', 'id_test')
EMPTY = 0
_EPOCH = datetime.datetime(2013, 1, 1)
_NIGHT_HOURS = (19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5)
_NIGHT_PROBABILITY = {'diurnal': 0.05, 'nocturnal': 0.5}


@dataclasses.dataclass(frozen=True)
class WorldSettings:
  """Every knob of the synthetic benchmark."""
  num_classes: int                 # animal classes; labels 1..num_classes, 0 = empty
  image_size: int
  split_sizes: dict[str, int]      # frames per split
  train_locations: int
  val_locations: int
  test_locations: int
  shift_strength: float            # how far OOD cameras sit from the training cameras
  class_tail: float = 1.0          # Zipf exponent of global class frequencies
  classes_per_location: int = 3    # animal classes each camera sees (its residents)
  # The fauna the classes are drawn from: the taxonomy that `synthetic_nature` photographs
  # with the same seed, (orders, families, species) and how many orders are animals.
  fauna_branching: tuple[int, int, int] = (5, 4, 5)
  fauna_animal_orders: int = 3
  max_sequence_length: int = 3
  # True: the cameras of each split take their residents in turn from a shuffled cycle of the
  # classes, so every class lives at about as many cameras as any other (False: each camera
  # draws its residents by global frequency).
  balanced_residents: bool = False
  location_volume_sigma: float = 1.0  # log-normal spread of the cameras' trigger rates
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class Frame:
  """One image of the plan: where, what and when."""
  split: str
  location: int
  sequence: int
  label: int
  night: bool
  hour: int
  datetime: str
  index_in_sequence: int


@dataclasses.dataclass(frozen=True)
class World:
  """Classes, cameras, which cameras serve which split, each camera's class prior."""
  settings: WorldSettings
  classes: tuple[animals.AnimalClass, ...]
  locations: tuple[scenes.Location, ...]
  split_locations: dict[str, tuple[int, ...]]
  class_priors: np.ndarray          # (num_locations, num_classes), rows sum to 1
  location_volume: np.ndarray       # (num_locations,) relative trigger rates


def fauna_indices(settings: WorldSettings) -> np.ndarray:
  """Which animal species of the seed's fauna are the classes 1..num_classes, picked at random.

  The taxonomy lists species order-major with the animal orders first, so these are also the
  fine class ids of the classes in `synthetic_nature` of the same seed and taxonomy.
  """
  _, families, species = settings.fauna_branching
  num_animals = settings.fauna_animal_orders * families * species
  if settings.num_classes > num_animals:
    raise ValueError(f'num_classes={settings.num_classes} exceeds the {num_animals} animal '
                     f'species of fauna_branching={settings.fauna_branching} with '
                     f'fauna_animal_orders={settings.fauna_animal_orders}.')
  return np.random.default_rng([settings.seed, 12]).choice(
      num_animals, settings.num_classes, replace=False)


def fauna_classes(settings: WorldSettings) -> tuple[animals.AnimalClass, ...]:
  """The benchmark's classes: animal species of the seed's fauna (`fauna_indices`)."""
  fauna = [s.animal for s in taxonomy.build_taxonomy(
      settings.fauna_branching, settings.fauna_animal_orders, settings.seed)
           if s.kingdom == taxonomy.ANIMAL]
  return tuple(fauna[i] for i in fauna_indices(settings))


def build_world(settings: WorldSettings) -> World:
  """The deterministic world of a seed."""
  rng = np.random.default_rng([settings.seed, 0])
  classes = fauna_classes(settings)
  counts = {'train': settings.train_locations, 'val': settings.val_locations,
            'test': settings.test_locations}
  locations, owner = [], []
  for group, count in counts.items():
    shift = 0.0 if group == 'train' else settings.shift_strength
    locations += [scenes.sample_location(rng, settings.image_size, shift) for _ in range(count)]
    owner += [group] * count
  # Location ids are shuffled so an id says nothing about its split.
  ids = rng.permutation(len(locations))
  locations = [locations[i] for i in np.argsort(ids)]
  owner = [owner[i] for i in np.argsort(ids)]
  split_locations = {s: tuple(i for i, o in enumerate(owner) if o == ('train' if s in ID_SPLITS else s))
                     for s in SPLITS}
  rank = rng.permutation(settings.num_classes) + 1
  global_weight = 1.0 / rank ** settings.class_tail
  # Each camera sees a few resident classes: at a training camera its background (and
  # photometric habits) predict the label, a shortcut that fails at unseen cameras.
  residents = min(settings.classes_per_location, settings.num_classes)
  # Balanced: each camera of a group takes the next `residents` entries of its group's cycle.
  turns = ({group: iter(_resident_cycle(rng, settings.num_classes, residents * count)
                        .reshape(count, residents)) for group, count in counts.items()}
           if settings.balanced_residents else {})
  priors = []
  for group in owner:
    if settings.balanced_residents:
      present = next(turns[group])
    else:
      present = rng.choice(settings.num_classes, residents, replace=False,
                           p=global_weight / global_weight.sum())
    weight = np.zeros(settings.num_classes)
    weight[present] = global_weight[present] * rng.gamma(2.0, size=residents)
    priors.append(weight / weight.sum())
  volume = rng.lognormal(0.0, settings.location_volume_sigma, len(locations))
  return World(settings, classes, tuple(locations), split_locations, np.stack(priors), volume)


def _resident_cycle(rng: np.random.Generator, num_classes: int, length: int) -> np.ndarray:
  """`length` class indices going round one shuffled order of the classes: any `residents`
  (<= num_classes) consecutive entries are distinct, and every class appears equally often
  (to within one)."""
  return rng.permutation(num_classes)[np.arange(length) % num_classes]


def plan_split(world: World, split: str) -> list[Frame]:
  """Exactly `split_sizes[split]` frames, sequence by sequence, from the split's cameras."""
  s = world.settings
  rng = np.random.default_rng([s.seed, 1, SPLITS.index(split)])
  cams = np.asarray(world.split_locations[split])
  if len(cams) == 0:
    raise ValueError(f'split {split!r} has no cameras; set the config field '
                     f"{'train' if split in ID_SPLITS else split}_locations > 0.")
  volume = world.location_volume[cams] / world.location_volume[cams].sum()
  frames: list[Frame] = []
  sequence = SPLITS.index(split) * 10_000_000  # sequence ids are unique across splits
  while len(frames) < s.split_sizes[split]:
    location = int(rng.choice(cams, p=volume))
    cam = world.locations[location]
    empty = rng.uniform() < cam.empty_fraction
    label = EMPTY if empty else int(rng.choice(s.num_classes, p=world.class_priors[location])) + 1
    activity = 'any' if empty else world.classes[label - 1].activity
    night = rng.uniform() < _NIGHT_PROBABILITY.get(activity, cam.night_fraction)
    hour = int(rng.choice(_NIGHT_HOURS)) if night else int(rng.integers(6, 19))
    start = _EPOCH + datetime.timedelta(days=int(rng.integers(0, 730)), hours=hour,
                                        minutes=int(rng.integers(60)), seconds=int(rng.integers(60)))
    length = int(rng.integers(1, s.max_sequence_length + 1))
    for k in range(min(length, s.split_sizes[split] - len(frames))):
      when = (start + datetime.timedelta(seconds=k)).strftime('%Y-%m-%d %H:%M:%S.000')
      frames.append(Frame(split, location, sequence, label, bool(night), hour, when, k))
    sequence += 1
  return frames


def render_frame(world: World, frame: Frame) -> np.ndarray:
  """uint8 (S, S, 3) image of one planned frame (deterministic)."""
  s = world.settings
  size = s.image_size
  cam = world.locations[frame.location]
  scene = cam.background.copy()
  if frame.label != EMPTY:
    cls = world.classes[frame.label - 1]
    # The same individual throughout a sequence; it moves a little between frames.
    who = np.random.default_rng([s.seed, 2, frame.sequence])
    rgb = np.clip(np.asarray(cls.coat_rgb) * who.uniform(0.85, 1.15, 3), 0, 1)
    depth = who.uniform(0.15, 0.95)
    y_feet = (cam.horizon + depth * (1 - cam.horizon)) * size
    scale = animals.body_scale(size, depth) * cls.size * cam.distance * who.uniform(0.85, 1.15)
    x = (who.uniform(0.1, 0.9) + frame.index_in_sequence * who.uniform(-0.06, 0.06)) * size
    pose = animals.Pose(x=x, y_feet=y_feet, scale=scale, angle=who.uniform(-0.2, 0.2),
                        facing_left=bool(who.uniform() < 0.5))
    colour, alpha = animals.draw(cls, rgb, pose, size)
    scene = scene * (1 - alpha[..., None]) + colour * alpha[..., None]
  hour_light = 0.75 + 0.25 * np.sin(np.pi * (frame.hour - 6) / 13)
  noise_rng = np.random.default_rng([s.seed, 3, frame.sequence, frame.index_in_sequence])
  return scenes.photograph(cam, scene, frame.night, hour_light, noise_rng)
