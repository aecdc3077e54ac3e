"""Bad analysis input: its message says what to do in one line."""
from jaxrobust import errors


class AnalysisError(errors.UserError, ValueError):
  """Results or options the analysis cannot use (the CLIs print the message, no traceback)."""
