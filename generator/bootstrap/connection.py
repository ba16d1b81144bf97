"""The GitHub connection (CodeConnections): created here, or an existing one from the config.

A created connection starts PENDING: an administrator finishes the handshake once in the
console (Developer Tools > Settings > Connections > Update pending connection). Until then the
sync pipeline's source action fails; nothing else is affected.
"""

from __future__ import annotations

from troposphere import AWSObject, GetAtt
from troposphere.codeconnections import Connection

from generator import logical_ids, naming
from generator.contract.config import PipelinesConfig


def github_connection(config: PipelinesConfig) -> tuple[object, list[AWSObject]]:
    """The connection ARN to use, and the resources to add (none for an existing connection)."""
    if config.repository.connection_arn:
        return config.repository.connection_arn, []
    connection = Connection(logical_ids.CONNECTION, ConnectionName=naming.connection_name(config.project),
                            ProviderType="GitHub")
    return GetAtt(connection, "ConnectionArn"), [connection]


def connection_service(config: PipelinesConfig) -> str:
    """The IAM service prefix for the connection: older ARNs are ``codestar-connections``."""
    arn = config.repository.connection_arn or ""
    return "codestar-connections" if ":codestar-connections:" in arn else "codeconnections"
