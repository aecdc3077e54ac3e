"""The user's manual downloads: find them (or say exactly what is missing) and read them safely.

Builders of real datasets never download anything: users put the official files into
TFDS's manual dir. `require_manual_files` turns a missing file into one message naming
the files, the directory they go in and where they come from. Archives (tar, tar.gz, zip)
and extracted folders are read through the same functions; a member or listed path that
would resolve outside its root (absolute, `..`, a link pointing out) is refused. The folder
itself may be a link (a download kept on another disk); links inside it may not point out.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
import dataclasses
import os
import pathlib
import posixpath
import re
import tarfile
import zipfile

from absl import logging

from jaxrobust import errors

_ARCHIVE_SUFFIXES = ('.tar', '.tar.gz', '.tgz', '.zip')


class MissingManualFileError(errors.UserError):
  """A manual download is missing; `str()` is the whole message for the user."""


class UnsafeArchiveError(errors.UserError):
  """An archive member (or a listed file) would resolve outside its root directory."""


def manual_dir_of(dl_manager) -> pathlib.Path:
  """The manual dir TFDS was given, even when it does not exist yet (for the message)."""
  try:
    return pathlib.Path(dl_manager.manual_dir)
  except (AssertionError, ValueError):  # TFDS raises when the dir is missing or empty, or
    # the builder declares no manual download instructions; we explain instead.
    return pathlib.Path(dl_manager._manual_dir)  # pylint: disable=protected-access


def require_manual_files(manual_dir: str | os.PathLike[str],
                         alternatives: Sequence[Sequence[str]], *, dataset: str,
                         source: str) -> list[pathlib.Path]:
  """Returns, for each requirement, the first alternative present in `manual_dir`.

  Each requirement is a list of acceptable names (e.g. an archive or its extracted
  folder). If any requirement has no present alternative, raises MissingManualFileError
  naming every missing file, the directory and where the files come from.
  """
  manual_dir = pathlib.Path(manual_dir)
  found, missing = [], []
  for names in alternatives:
    present = [manual_dir / n for n in names if (manual_dir / n).exists()]
    if present:
      found.append(present[0])
    elif ' or '.join(names) not in missing:  # Two splits may share one file.
      missing.append(' or '.join(names))
  if missing:
    raise MissingManualFileError(
        f'{dataset}: manual download missing: put {"; ".join(missing)} into the manual dir '
        f'{manual_dir} (get them from {source}), then rerun with --manual_dir={manual_dir}.')
  return found


@dataclasses.dataclass(frozen=True)
class ManualFiles:
  """What one dataset's manual download consists of: requirements, each a list of alternatives."""
  dataset: str
  alternatives: Sequence[Sequence[str]]
  source: str

  def require(self, manual_dir: str | os.PathLike[str]) -> list[pathlib.Path]:
    """`require_manual_files` for this download."""
    return require_manual_files(manual_dir, self.alternatives, dataset=self.dataset,
                                source=self.source)


def is_archive(path: str | os.PathLike[str]) -> bool:
  """Whether `path` names a tar/tar.gz/zip archive (rather than an extracted folder)."""
  return str(path).endswith(_ARCHIVE_SUFFIXES) and pathlib.Path(path).is_file()


def safe_relative_path(name: str) -> str:
  """`name` normalized to a relative POSIX path; raises UnsafeArchiveError if it escapes."""
  path = name.replace('\\', '/')
  if path.startswith('/') or re.match(r'^[A-Za-z]:', path):
    raise UnsafeArchiveError(f'refusing absolute path {name!r} in an archive or listing.')
  parts = [p for p in path.split('/') if p not in ('', '.')]
  if '..' in parts:
    raise UnsafeArchiveError(f'refusing path {name!r}: it leaves the archive root.')
  return '/'.join(parts)


def _check_link(member: tarfile.TarInfo, name: str, archive: str) -> None:
  target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(name),
                                                                 member.linkname)
  try:
    safe_relative_path(target)
  except UnsafeArchiveError as e:
    raise UnsafeArchiveError(f'{archive}: link {name!r} -> {member.linkname!r} leaves the '
                             'archive root; refusing the archive.') from e


def _iter_tar(path: str, select: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
  # Stream mode: one sequential pass, no seeking in multi-GB tar.gz files.
  with tarfile.open(path, mode='r|*') as tar:
    for member in tar:
      try:
        name = safe_relative_path(member.name)
      except UnsafeArchiveError as e:
        raise UnsafeArchiveError(f'{path}: {e}') from None
      if member.issym() or member.islnk():
        _check_link(member, name, path)
        continue  # Links are never followed.
      if member.isfile() and select(name):
        yield name, tar.extractfile(member).read()


def _iter_zip(path: str, select: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
  with zipfile.ZipFile(path) as archive:
    infos = archive.infolist()
    names = []
    for info in infos:  # Check every member before reading any.
      try:
        names.append(safe_relative_path(info.filename))
      except UnsafeArchiveError as e:
        raise UnsafeArchiveError(f'{path}: {e}') from None
    for info, name in zip(infos, names):
      if not info.is_dir() and select(name):
        yield name, archive.read(info)


def iter_archive(path: str | os.PathLike[str],
                 select: Callable[[str], bool] = lambda name: True
                 ) -> Iterator[tuple[str, bytes]]:
  """Yields (relative path, bytes) of the regular files of an archive that `select` accepts.

  Every member name is checked, selected or not: one escaping the root (absolute path,
  `..`, or a link pointing outside) raises UnsafeArchiveError.
  """
  path = os.fspath(path)
  if zipfile.is_zipfile(path):
    yield from _iter_zip(path, select)
  else:
    yield from _iter_tar(path, select)


def _strip(name: str, prefix: str) -> str:
  return name[len(prefix):] if prefix and name.startswith(prefix) else name


def iter_files(source: str | os.PathLike[str], names: Collection[str], *,
               strip_prefix: str = '') -> Iterator[tuple[str, bytes | None]]:
  """Yields (name, bytes) for each of `names` from a folder or an archive; None if absent.

  `names` are paths relative to the folder (or the archive root, after removing an
  optional leading `strip_prefix` such as `iwildcam_v2.0/` from member names). Archives
  are read in one streaming pass, so files come in archive order; absent ones come last.
  """
  wanted = {safe_relative_path(n): n for n in names}
  if is_archive(source):
    seen = set()
    select = lambda member: _strip(member, strip_prefix) in wanted
    for member, data in iter_archive(source, select):
      key = _strip(member, strip_prefix)
      if key not in seen:
        seen.add(key)
        yield wanted[key], data
    for key in sorted(set(wanted) - seen):
      yield wanted[key], None
    return
  root = pathlib.Path(source)
  for key in sorted(wanted):
    path = root / key
    yield wanted[key], (read_confined(root, path) if path.is_file() else None)


def read_confined(root: pathlib.Path, path: pathlib.Path) -> bytes:
  """The bytes of `path` in the folder `root`; UnsafeArchiveError if a link takes it outside."""
  real, real_root = path.resolve(), root.resolve()
  if not real.is_relative_to(real_root):
    raise UnsafeArchiveError(
        f'{path} resolves to {real}, outside {root}: a link out of the folder; refusing it. '
        f'Put the file itself into {root}.')
  return real.read_bytes()


def read_file(source: str | os.PathLike[str], name: str, *, strip_prefix: str = '',
              what: str = '') -> bytes:
  """The bytes of `name` in a folder or archive; raises MissingManualFileError if absent."""
  for _, data in iter_files(source, [name], strip_prefix=strip_prefix):
    if data is not None:
      return data
  raise MissingManualFileError(
      f'{what or name}: {name} not found in {source}; it is part of the official download '
      '- re-download or re-extract it into the manual dir.')


def read_single_member(path: str | os.PathLike[str], basename: str) -> bytes:
  """The bytes of the file called `basename` in an archive (`train.json` in `train.json.tar.gz`)."""
  select = lambda member: posixpath.basename(member) == basename
  for name, data in iter_archive(path, select):
    logging.info('Read %s from %s.', name, path)
    return data
  raise MissingManualFileError(f'{path} holds no file named {basename}; re-download it.')
