r"""Converts a user-supplied hierarchy in BREEDS format into Hierarchy JSON.

BREEDS (Santurkar et al., 2021) describes a hierarchy by `class_hierarchy.txt` (one
`parent child` edge per line) and `dataset_class_info.json` (a list of
`[class_index, wnid, name, ...]`); `node_names.txt` is not needed. The DAG is cut by the
same documented rule as the WordNet table (`cuts.py`). Run:

  python -m jaxrobust.datasets.wordnet.breeds --info_dir=DIR --out=hierarchy.json
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
import json
import os
import pathlib

from absl import app
from absl import flags

from jaxrobust.datasets.wordnet import cuts

EDGES_FILE = 'class_hierarchy.txt'
CLASS_INFO_FILE = 'dataset_class_info.json'


def hierarchy_from_breeds(info_dir: str | os.PathLike[str], *,
                          depths: Iterable[int] = range(2, 8),
                          group_roots: dict[str, str] | None = None) -> dict:
  """Hierarchy JSON from BREEDS `class_hierarchy.txt` + `dataset_class_info.json`."""
  info_dir = pathlib.Path(info_dir)
  for name in (EDGES_FILE, CLASS_INFO_FILE):
    if not (info_dir / name).exists():
      raise FileNotFoundError(f'BREEDS hierarchy: {info_dir / name} not found; a BREEDS '
                              f'info dir holds {EDGES_FILE} and {CLASS_INFO_FILE}.')
  parents: dict[str, list[str]] = {}
  children = set()
  for line in (info_dir / EDGES_FILE).read_text().splitlines():
    if line.strip():
      parent, child = line.split()
      parents.setdefault(child, []).append(parent)
      children.add(child)
  class_info = json.loads((info_dir / CLASS_INFO_FILE).read_text())
  classes = [wnid for _, wnid, *_ in sorted(class_info, key=lambda c: c[0])]
  ancestors = cuts.ancestor_sets(parents, classes)
  roots = sorted({a for anc in ancestors.values() for a in anc} - children)
  if len(roots) != 1:
    raise ValueError(f'BREEDS hierarchy in {info_dir} must have one root above all '
                     f'classes; found {roots[:5]}.')
  present = {a for anc in ancestors.values() for a in anc}
  group_roots = {k: v for k, v in (group_roots or {}).items() if v in present}
  return cuts.hierarchy_from_dag(parents, classes, root=roots[0], depths=depths,
                                 balanced=cuts.PAPER_COUNTS, group_roots=group_roots)


def main(argv: Sequence[str]) -> None:
  del argv
  args = flags.FLAGS
  groups = {'animal': args.animal} if args.animal else {}
  table = hierarchy_from_breeds(args.info_dir, depths=[int(d) for d in args.depths],
                                group_roots=groups)
  pathlib.Path(args.out).write_text(cuts.dumps_hierarchy(table))
  for level, count in cuts.class_counts(table).items():
    print(f'{level:12s} {count:5d} classes')
  print(f'wrote {args.out}')


if __name__ == '__main__':
  # Flags are defined only when run as a script, so importing this module defines none.
  flags.DEFINE_string('info_dir', None, 'Folder with the BREEDS files.', required=True)
  flags.DEFINE_string('out', 'hierarchy.json', 'Where to write the Hierarchy JSON.')
  flags.DEFINE_list('depths', ['2', '3', '4', '5', '6', '7'], 'Cut depths.')
  flags.DEFINE_string('animal', 'n00015388',
                      'Node whose descendants form the `animal` group ("" for none).')
  app.run(main)
