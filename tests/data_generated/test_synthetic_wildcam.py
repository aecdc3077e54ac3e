"""synthetic_wildcam: iWildCam's schema and splits, location shift, determinism."""
import collections
import dataclasses
import datetime

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score

from jaxrobust.datasets import synthetic

SPLITS = ('train', 'id_val', 'id_test', 'val', 'test')
# Large enough for a stable ID/OOD comparison, small enough to build in seconds.
GAP_CONFIG = ('synthetic_wildcam/tiny/train_size=1200,id_test_size=300,test_size=300,'
              'train_locations=12,test_locations=4')


def _locations(rows) -> set[int]:
  return {int(r['location']) for r in rows}


def test_splits_have_the_configured_sizes(wildcam_tiny):
  config = wildcam_tiny.builder_config
  sizes = {s: wildcam_tiny.info.splits[s].num_examples for s in SPLITS}
  assert sizes == {s: getattr(config, f'{s}_size') for s in SPLITS}


def test_unseen_camera_splits_share_no_camera_with_training_or_each_other(wildcam_tiny, records):
  cams = {s: _locations(records(wildcam_tiny, s)) for s in SPLITS}
  assert cams['val'].isdisjoint(cams['train']) and cams['test'].isdisjoint(cams['train'])
  assert cams['val'].isdisjoint(cams['test'])
  assert len(cams['test']) > 1


def test_id_splits_use_only_training_cameras(wildcam_tiny, records):
  training = set(wildcam_tiny.info.metadata['split_locations']['train'])
  assert _locations(records(wildcam_tiny, 'train')) <= training
  for split in ('id_val', 'id_test'):
    assert _locations(records(wildcam_tiny, split)) <= training


def test_features_follow_the_iwildcam_schema(wildcam_tiny, records):
  features = wildcam_tiny.info.features
  assert set(features.keys()) == {'image', 'label', 'location', 'sequence', 'datetime'}
  assert features['image'].encoding_format == 'jpeg'
  assert features['label'].names[0] == 'empty'
  row = records(wildcam_tiny, 'test')[0]
  assert row['image'].shape == (32, 32, 3)
  datetime.datetime.strptime(row['datetime'].decode(), '%Y-%m-%d %H:%M:%S.%f')


def test_frames_of_a_sequence_share_camera_and_label_one_second_apart(wildcam_tiny, records):
  by_sequence = collections.defaultdict(list)
  for row in records(wildcam_tiny, 'train'):
    by_sequence[int(row['sequence'])].append(row)
  assert max(len(rows) for rows in by_sequence.values()) > 1
  for rows in by_sequence.values():
    assert len({(int(r['location']), int(r['label'])) for r in rows}) == 1
    times = sorted(datetime.datetime.strptime(r['datetime'].decode(), '%Y-%m-%d %H:%M:%S.%f')
                   for r in rows)
    assert all((b - a).seconds == 1 for a, b in zip(times, times[1:]))


def test_sequences_never_cross_splits(wildcam_tiny, records):
  seqs = [{int(r['sequence']) for r in records(wildcam_tiny, s)} for s in SPLITS]
  assert sum(len(s) for s in seqs) == len(set().union(*seqs))


def test_empty_frames_are_class_zero_and_cameras_see_different_class_mixes(wildcam_tiny, records):
  rows = records(wildcam_tiny, 'train')
  labels = np.asarray([r['label'] for r in rows])
  assert 0 < (labels == 0).mean() < 0.7
  top = {}
  for cam in _locations(rows):
    animals = [int(r['label']) for r in rows if r['location'] == cam and r['label'] != 0]
    if len(animals) >= 5:
      top[cam] = collections.Counter(animals).most_common(1)[0][0]
  assert len(set(top.values())) > 1


def test_each_camera_sees_only_its_resident_classes(wildcam_tiny, records):
  residents = wildcam_tiny.builder_config.classes_per_location
  for split in SPLITS:
    rows = records(wildcam_tiny, split)
    for cam in _locations(rows):
      seen = {int(r['label']) for r in rows if r['location'] == cam} - {0}
      assert len(seen) <= residents


def test_shift_strength_changes_only_the_unseen_cameras():
  base = synthetic.WorldSettings(num_classes=4, image_size=16, split_sizes={},
                                 train_locations=3, val_locations=2, test_locations=2,
                                 shift_strength=0.0)
  calm = synthetic.build_world(base)
  shifted = synthetic.build_world(dataclasses.replace(base, shift_strength=1.0))
  for cam in calm.split_locations['train']:
    a, b = calm.locations[cam], shifted.locations[cam]
    assert np.array_equal(a.background, b.background)
    assert dataclasses.replace(a, background=None) == dataclasses.replace(b, background=None)
  unseen = calm.split_locations['val'] + calm.split_locations['test']
  assert all(calm.locations[c].blur != shifted.locations[c].blur for c in unseen)
  np.testing.assert_array_equal(calm.class_priors, shifted.class_priors)


def test_same_seed_renders_identical_frames():
  settings = synthetic.WorldSettings(num_classes=3, image_size=24,
                                     split_sizes={'train': 6}, train_locations=2,
                                     val_locations=1, test_locations=1, shift_strength=1.0)
  frames = [synthetic.plan_split(synthetic.build_world(settings), 'train') for _ in range(2)]
  assert frames[0] == frames[1]
  world = synthetic.build_world(settings)
  for frame in frames[0]:
    np.testing.assert_array_equal(synthetic.render_frame(world, frame),
                                  synthetic.render_frame(synthetic.build_world(settings), frame))


def test_a_split_without_cameras_is_a_clear_error():
  settings = synthetic.WorldSettings(num_classes=3, image_size=16, split_sizes={'val': 4},
                                     train_locations=2, val_locations=0, test_locations=1,
                                     shift_strength=1.0)
  with pytest.raises(ValueError, match='val_locations'):
    synthetic.plan_split(synthetic.build_world(settings), 'val')


def test_a_model_trained_on_train_scores_lower_on_unseen_cameras(tmp_path, build_dataset,
                                                                 records):
  builder = build_dataset(GAP_CONFIG, tmp_path)

  def pixels(split):
    rows = records(builder, split)
    x = np.stack([r['image'][::2, ::2].reshape(-1) for r in rows]).astype(np.float32) / 255
    return x, np.asarray([r['label'] for r in rows])

  x, y = pixels('train')
  mean, std = x.mean(0), x.std(0) + 1e-3
  model = RidgeClassifier(alpha=100.0).fit((x - mean) / std, y)
  scores = {}
  for split in ('id_test', 'test'):
    x, y = pixels(split)
    scores[split] = f1_score(y, model.predict((x - mean) / std), average='macro',
                             labels=np.unique(y))
  print(f'ridge on pixels: macro-F1 id_test={scores["id_test"]:.3f} test={scores["test"]:.3f}')
  assert scores['id_test'] - scores['test'] > 0.1


@pytest.mark.parametrize('residents', [1, 2])
def test_balanced_residents_give_every_class_as_many_cameras_in_each_split(residents):
  settings = synthetic.WorldSettings(num_classes=4, image_size=16, split_sizes={},
                                     train_locations=12, val_locations=4, test_locations=8,
                                     shift_strength=0.5, classes_per_location=residents,
                                     balanced_residents=True)
  world = synthetic.build_world(settings)
  for split in ('train', 'val', 'test'):
    cams = list(world.split_locations[split])
    counts = (world.class_priors[cams] > 0).sum(axis=0)
    assert counts.max() - counts.min() <= 1, (split, counts)
    assert ((world.class_priors[cams] > 0).sum(axis=1) == residents).all()
  drawn = synthetic.build_world(dataclasses.replace(settings, balanced_residents=False))
  assert not np.array_equal((drawn.class_priors > 0).sum(axis=0),
                            (world.class_priors > 0).sum(axis=0))
