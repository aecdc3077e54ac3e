"""Published sizes of the manual downloads, so a study can say what it needs before it starts.

Sizes are those of the official archives (GB = 10^9 bytes). A prepared TFDS copy stores the
same encoded images again, so the disk a dataset needs is about twice its download while both
are kept (the download can be deleted once the dataset is prepared).
"""
# TFDS name (builder, or builder/config) -> (download GB, what the download is).
DOWNLOADS_GB: dict[str, tuple[float, str]] = {
    'imagenet2012': (144.6, 'ILSVRC2012_img_train.tar 137.7 GB + ILSVRC2012_img_val.tar 6.7 GB'),
    'iwildcam': (11.0, 'iwildcam_v2.0.tar.gz (WILDS)'),
    'inaturalist/2017': (186.0, 'train_val_images.tar.gz + train2017/val2017 JSON'),
    'inaturalist/2018': (120.0, 'train_val2018.tar.gz + JSON'),
    'inaturalist/2021': (232.4, 'train.tar.gz 224 GB + val.tar.gz 8.4 GB + JSON'),
    'inaturalist/2021_mini': (50.4, 'train_mini.tar.gz 42 GB + val.tar.gz 8.4 GB + JSON'),
}


def download_gb(name: str) -> tuple[float, str] | None:
  """The published download of TFDS dataset `name` (`builder[/config][:version]`), if known."""
  base = name.partition(':')[0]
  builder, _, rest = base.partition('/')
  config = rest.split('/')[0]
  return DOWNLOADS_GB.get(f'{builder}/{config}') or DOWNLOADS_GB.get(builder)


def space_note(names: list[str]) -> str | None:
  """'Downloads: about N GB (...); disk: about 2N GB ...' for the known ones of `names`."""
  known = {n: download_gb(n) for n in names if download_gb(n)}
  if not known:
    return None
  total = sum(gb for gb, _ in known.values())
  parts = '; '.join(f'{n}: {gb:g} GB ({what})' for n, (gb, what) in known.items())
  unknown = len(names) - len(known)
  more = f'; {unknown} more of unknown size' if unknown else ''
  return (f'Downloads: about {total:,.0f} GB ({parts}{more}). Disk: about {2 * total:,.0f} GB '
          'while the downloads and their prepared copies are both kept.')
