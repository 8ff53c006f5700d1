"""Errors the library raises on purpose. The CLI turns them into one-line messages and exit codes."""


class PipelineError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class ConfigError(PipelineError):
    """A configuration file or override is invalid."""


class InputFileError(PipelineError):
    """One input file cannot be processed (empty, corrupt, not audio). The batch goes on."""


class ModelUnavailableError(PipelineError):
    """A model cannot be found or loaded; says which alternatives exist."""


class OutputBusyError(PipelineError):
    """Another live run holds the output folder's lock."""


class DiskFullError(PipelineError):
    """A write failed because the disk (or quota) is full; what was there before is kept."""


class WorkerLostError(PipelineError):
    """The worker process running one file died (killed, out of memory, its node lost) more times than allowed."""
