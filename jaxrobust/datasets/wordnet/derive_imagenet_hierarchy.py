r"""Derives the committed ImageNet-1k superclass table from WordNet 3.0.

ImageNet wnids are WordNet 3.0 noun offsets (`n` + 8 digits). This script reads the noun
database (`data.noun`, e.g. from Debian's `wordnet-base` at /usr/share/wordnet), follows
hypernym edges (`@` and instance `@i`) from the 1000 classes of `imagenet2012_wnids.txt`
(TFDS `imagenet2012` label order) up to `entity` (n00001740), cuts the DAG at depths 2-7
by the longest- and the shortest-path rule, cuts one tree of it (one parent per synset) at the
same depths and at the study's class counts (`tree_*`, `balanced_*`; see `cuts.py`), marks the
descendants of
`animal` (n00015388), and writes `imagenet_hierarchy.json` (Hierarchy JSON) and
`imagenet2012_names.tsv` (wnid, the human name text-to-image prompts use). Run:

  python -m jaxrobust.datasets.wordnet.derive_imagenet_hierarchy \
      [--wordnet_dir=/usr/share/wordnet] [--out=jaxrobust/datasets/wordnet/imagenet_hierarchy.json]
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
import os
import pathlib

from absl import app
from absl import flags

from jaxrobust.datasets.wordnet import cuts

HERE = pathlib.Path(__file__).parent
WNIDS_FILE = HERE / 'imagenet2012_wnids.txt'
TABLE_FILE = HERE / 'imagenet_hierarchy.json'
NAMES_FILE = HERE / 'imagenet2012_names.tsv'
ENTITY = 'n00001740'
ANIMAL = 'n00015388'
DEPTHS = range(2, 8)


def _noun_synsets(data_noun: str | os.PathLike[str]) -> Iterator[tuple[str, list[str], list[str]]]:
  """(wnid, lemmas, hypernym wnids) of every synset of WordNet's data.noun, in file order."""
  with open(data_noun, encoding='latin-1') as f:
    for line in f:
      if line.startswith(' '):  # License header.
        continue
      fields = line.split(' | ', 1)[0].split()
      num_words = int(fields[3], 16)
      i = 4 + 2 * num_words
      num_pointers = int(fields[i])
      pointers = fields[i + 1:i + 1 + 4 * num_pointers]
      yield ('n' + fields[0], fields[4:i:2],
             ['n' + pointers[j + 1] for j in range(0, len(pointers), 4)
              if pointers[j] in ('@', '@i') and pointers[j + 2] == 'n'])


def read_noun_hypernyms(data_noun: str | os.PathLike[str]) -> dict[str, list[str]]:
  """wnid -> hypernym wnids (`@` and `@i` pointers, in file order) from WordNet's data.noun."""
  return {wnid: parents for wnid, _, parents in _noun_synsets(data_noun)}


def read_noun_lemmas(data_noun: str | os.PathLike[str]) -> dict[str, list[str]]:
  """wnid -> its lemmas (words, `_` for spaces, in WordNet's order) from WordNet's data.noun."""
  return {wnid: lemmas for wnid, lemmas, _ in _noun_synsets(data_noun)}


def read_wnids(path: str | os.PathLike[str] = WNIDS_FILE) -> list[str]:
  """The 1000 ImageNet-1k wnids in class-index order."""
  return pathlib.Path(path).read_text().split()


def data_noun_path(wordnet_dir: str | os.PathLike[str]) -> pathlib.Path:
  """WordNet's data.noun in `wordnet_dir`; a one-line error when WordNet is not installed."""
  data_noun = pathlib.Path(wordnet_dir) / 'data.noun'
  if not data_noun.exists():
    raise FileNotFoundError(f'{data_noun} not found: install WordNet 3.0 (Debian/Ubuntu: '
                            'apt-get install wordnet-base) or pass --wordnet_dir.')
  return data_noun


def derive_table(wordnet_dir: str | os.PathLike[str],
                 wnids: Sequence[str]) -> dict:
  """The ImageNet Hierarchy JSON table derived from WordNet in `wordnet_dir`."""
  data_noun = data_noun_path(wordnet_dir)
  parents = read_noun_hypernyms(data_noun)
  unknown = [w for w in wnids if w not in parents]
  if unknown:
    raise ValueError(f'{len(unknown)} wnids are not WordNet 3.0 nouns (e.g. {unknown[:3]}); '
                     f'is {data_noun} WordNet 3.0?')
  return cuts.hierarchy_from_dag(parents, wnids, root=ENTITY, depths=DEPTHS,
                                 balanced=cuts.PAPER_COUNTS, group_roots={'animal': ANIMAL})


def human_names(wnids: Sequence[str], lemmas: Mapping[str, Sequence[str]],
                parents: Mapping[str, Sequence[str]]) -> list[str]:
  """Each class's first lemma (`_` -> space); a name several classes share gets its
  first hypernym's lemma in parentheses (`crane (wading bird)`, `crane (lifting device)`)."""
  def readable(wnid: str) -> str:
    return lemmas[wnid][0].replace('_', ' ')
  first = [readable(w) for w in wnids]
  shared = {n for n in first if first.count(n) > 1}
  return [f'{n} ({readable(parents[w][0])})' if n in shared and parents[w] else n
          for w, n in zip(wnids, first)]


def derive_names(wordnet_dir: str | os.PathLike[str], wnids: Sequence[str]) -> list[str]:
  """`human_names` of `wnids` from WordNet in `wordnet_dir`."""
  synsets = list(_noun_synsets(data_noun_path(wordnet_dir)))
  return human_names(wnids, {w: lem for w, lem, _ in synsets},
                     {w: par for w, _, par in synsets})


def read_names(path: str | os.PathLike[str] = NAMES_FILE) -> dict[str, str]:
  """wnid -> human name from the committed `imagenet2012_names.tsv`."""
  rows = (line.split('\t') for line in pathlib.Path(path).read_text().splitlines())
  return {wnid: name for wnid, name in rows}


def main(argv: Sequence[str]) -> None:
  del argv
  args = flags.FLAGS
  table = derive_table(args.wordnet_dir, read_wnids())
  pathlib.Path(args.out).write_text(cuts.dumps_hierarchy(table))
  names = derive_names(args.wordnet_dir, read_wnids())
  pathlib.Path(args.names_out).write_text(
      ''.join(f'{w}\t{n}\n' for w, n in zip(read_wnids(), names)))
  for level, count in cuts.class_counts(table).items():
    print(f'{level:12s} {count:5d} classes')
  for group, members in table['groups'].items():
    print(f'{group:12s} {len(members):5d} fine classes')
  print(f'wrote {args.out} and {args.names_out}')


if __name__ == '__main__':
  # Flags are defined only when run as a script, so importing this module defines none.
  flags.DEFINE_string('wordnet_dir', '/usr/share/wordnet',
                      'Folder holding WordNet 3.0 data.noun.')
  flags.DEFINE_string('out', str(TABLE_FILE), 'Where to write the table.')
  flags.DEFINE_string('names_out', str(NAMES_FILE), 'Where to write the human names.')
  app.run(main)
