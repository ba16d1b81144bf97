"""The one exception hierarchy of changegate.

Every error a user can cause is a ``ChangegateError``; the command line catches it once,
prints its message and exits with its ``exit_code``. Anything else escaping is a bug.
"""

from __future__ import annotations


class ChangegateError(Exception):
    """Base of every error changegate reports to a user."""

    exit_code = 1


class UsageError(ChangegateError):
    """The command was called wrongly (a stack that does not exist, conflicting options)."""

    exit_code = 2


class ConfigError(ChangegateError):
    """``pipelines/config.yaml`` (or a file it names) is missing or invalid.

    ``problems`` holds every finding, so the user fixes them in one pass.
    """

    exit_code = 2

    def __init__(self, message: str, problems: tuple = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class StackError(ChangegateError):
    """One or more stacks under ``stacks/`` are invalid; ``problems`` lists them."""

    def __init__(self, message: str, problems: tuple = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class GenerateError(ChangegateError):
    """The bootstrap template cannot be built (a CloudFormation limit, a stale file)."""


class SyncError(ChangegateError):
    """The GitHub->S3 sync cannot proceed (S3, CodePipeline, or a refused rollback)."""


class AwsError(ChangegateError):
    """An AWS call failed: missing credentials, a denied action, a missing resource."""
