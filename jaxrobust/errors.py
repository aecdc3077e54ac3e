"""Errors caused by bad input: the CLI prints their one-line message, not a traceback."""


def one_line(error: BaseException, limit: int = 200) -> str:
  """`error`'s message on one line (whitespace collapsed), cut after `limit` characters."""
  text = ' '.join(str(error).split())
  return text if len(text) <= limit else text[:limit] + '...'


class UserError(Exception):
  """Bad input the user can fix; the message says what to do in one line."""


class ConfigError(UserError):
  """A config field is unknown or has an invalid value."""


class DatasetNotBuiltError(UserError):
  """A dataset the run reads has not been prepared in the data directory."""


class NonFiniteLossError(UserError):
  """The training loss became NaN or infinite; the last good checkpoint is kept."""


class RunsFailedError(UserError):
  """Runs of a study failed for reasons of their own; `failures` maps run id -> error."""

  def __init__(self, message: str, failures: dict[str, str]):
    super().__init__(message)
    self.failures = failures
