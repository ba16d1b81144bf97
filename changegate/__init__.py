"""changegate: reviewed, approved CloudFormation changes through one pipeline per stack.

This package is the command line and the operator commands; ``generator`` holds the
repository contract and the bootstrap template, ``sync`` the GitHub->S3 sync.
"""

from generator.errors import (
    AwsError,
    ChangegateError,
    ConfigError,
    GenerateError,
    StackError,
    SyncError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = ["AwsError", "ChangegateError", "ConfigError", "GenerateError", "StackError",
           "SyncError", "UsageError", "__version__"]
