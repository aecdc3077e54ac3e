"""Pre-training quantity: how many images, and classes x images-per-class at a fixed total.

Paper scale: class-balanced ImageNet-1k subsets of 5K, 25K, 50K, 100K and 150K images (nested:
each is a subset of the next) and the full 1.28M, plus 250 classes x 600 images against the
150K setting (= 1000 classes x 150). Every setting trains the same number of steps (see
docs/studies.md; `:epochs` trains a fixed number of epochs instead), then is fine-tuned on
iWildCam-WILDS. Pre-training length: 100k steps of 256 = 5,120 epochs of the 5K subset, 171 of
150K, 20 of the full 1.28M (`:epochs`: 90 epochs each).
Arg `local`: the same on `synthetic_nature` + `synthetic_wildcam`. The benchmark's species are
species of that source, so every local setting includes all of them: the 25 classes of
`k25_m60` are its 8 species and 17 others (the dry run prints each setting's coverage).
Arg `camelyon` (paper scale): the same pre-trained models fine-tuned on a second real shift,
Camelyon17-WILDS (tumor patches; unseen hospitals), declared through `config.benchmark` as any
user's benchmark is (docs/own_data.md), with WILDS' recipe and metric for it.
"""
import ml_collections

from jaxrobust.study import benchmark
from jaxrobust.study import recipes as sc

# (quantities, (classes, images per class) at the total of one of the quantities) per scale.
_SIZES = {
    'paper': ((5_000, 25_000, 50_000, 100_000, 150_000), (250, 600)),
    'local': ((500, 1_500, 3_000), (25, 60)),  # 25 x 60 vs n1500 = 100 classes x 15
    'test': ((16, 32), None),
}


def _short(n: int) -> str:
  return f'{n // 1000}k' if n % 1000 == 0 else str(n)


def _camelyon(c: ml_collections.ConfigDict) -> None:
  """Fine-tunes and scratch baselines on Camelyon17-WILDS with WILDS' ERM recipe for it.

  WILDS: SGD (momentum 0.9, weight decay 0.01), lr 1e-3, batch 32, 5 epochs, 96x96 patches, no
  augmentation; average accuracy is its metric. Selection here maximizes OOD validation
  (hospital 1) macro-F1, as for every benchmark; WILDS maximizes its accuracy. Camelyon17-WILDS
  has no ID test split: WILDS reports ID validation accuracy (hospitals 0, 3, 4) as the
  in-distribution number, so `id_val` takes both ID split roles.
  """
  c.study = 'quantity_camelyon'
  c.description = 'Pre-training quantity at equal steps, fine-tuned on Camelyon17-WILDS.'
  c.benchmark = benchmark.block('camelyon17/patches', train_split='train',
                                id_val_split='id_val', id_split='id_val',
                                ood_val_split='val', ood_split='test')
  c.analysis.metric = 'accuracy'
  for template in (c.finetune, c.scratch):
    template.data.image_size = 96
    template.batch_size = 32
    template.eval_batch_size = 256
    template.num_epochs = 5.0
    template.optimizer.update(name='sgd', learning_rate=1e-3, momentum=0.9, weight_decay=1e-2,
                              schedule='constant')
  c.finetune_settings = ml_collections.ConfigDict()
  for lr_name, lr in (('lr1e3', 1e-3), ('lr1e4', 1e-4)):
    for seed in (0, 1):
      c.finetune_settings[f'{lr_name}_s{seed}'] = {'optimizer': {'learning_rate': lr},
                                                   'seed': seed}
  # Scratch baselines: WILDS' DenseNet-121 and the paper's architectures at three learning
  # rates, plus shorter and longer DenseNet-121 runs, which move models along the trend.
  c.scratch_settings = ml_collections.ConfigDict()
  for arch in ('densenet121', 'resnet18', 'resnet50', 'mobilenet_v3_large', 'alexnet'):
    for lr_name, lr in (('lr3e4', 3e-4), ('lr1e3', 1e-3), ('lr3e3', 3e-3)):
      c.scratch_settings[f'{arch}_{lr_name}'] = {'model': {'name': arch},
                                                 'optimizer': {'learning_rate': lr}}
  for epochs in (2, 10):
    c.scratch_settings[f'densenet121_lr1e3_ep{epochs}'] = {
        'model': {'name': 'densenet121'}, 'num_epochs': epochs}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The quantity study; arg: see jaxrobust/study/recipes.py, and `camelyon` (above)."""
  words = (arg or '').split(',')
  camelyon = 'camelyon' in words
  c = sc.study_defaults('quantity', ','.join(w for w in words if w != 'camelyon') or None,
                        'Pre-training quantity at equal steps.')
  # Findings on the classes x images-per-class trade at a fixed total are `equivalent` only within
  # ±2 ER points: the analysis default, which about 9 fine-tunes per setting reach at 1 point of
  # run-to-run spread (jaxrobust/analysis/verdicts.py). Size the fine-tune sweep on a pilot first:
  # `python -m jaxrobust.analysis power PILOT_DIR --equivalence_margin=2`.
  c.analysis.equivalence_margin = 2.0
  if camelyon:
    if c.scale != 'paper':
      raise ValueError("Config arg 'camelyon' fine-tunes on Camelyon17-WILDS: paper scale only.")
    _camelyon(c)
  source = sc.sources_for(c.scale)['hierarchy']
  quantities, classes_x_images = _SIZES[c.scale]
  for n in quantities:
    c.pretrain_settings[f'n{_short(n)}'] = sc.pretrain_setting(
        sc.subset(source, num_examples=n))
  if c.scale != 'test':
    c.pretrain_settings.full = sc.pretrain_setting(sc.subset(source))
  if classes_x_images:
    k, m = classes_x_images
    keep = {} if c.scale == 'paper' else {'benchmark_classes': 'keep'}
    c.pretrain_settings[f'k{k}_m{m}'] = sc.pretrain_setting(
        sc.subset(source, num_classes=k, images_per_class=m, **keep))
  return c
