"""One boto3 session per command, its clients, and AWS errors turned into messages a user can act on.

The session honours ``--profile``/``--region`` and boto3's own environment (``AWS_PROFILE``,
``AWS_REGION``, ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``, ...). Library code
receives clients made here; tests hand in stubbed or moto-backed ones instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
import click
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from generator.errors import AwsError, UsageError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# Throttling is expected when status reads 150 pipelines: let botocore back off and retry.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10},
                       user_agent_extra="changegate")

DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                    "AuthorizationError", "UnauthorizedException"})
BAD_CREDENTIALS = frozenset({"InvalidClientTokenId", "UnrecognizedClientException",
                             "SignatureDoesNotMatch", "InvalidAccessKeyId"})
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
CREDENTIALS_HINT = "use --profile, set AWS_PROFILE, or run `aws sso login` / `aws configure`"


class AccessDeniedError(AwsError):
    """The credentials work but may not make this call."""


class CredentialsError(AwsError):
    """No credentials, or AWS rejects or has expired them."""


class Aws:
    """A boto3 session and the clients made from it, one per service."""

    def __init__(self, session: boto3.Session | None, clients: dict[str, Any] | None = None,
                 account: str | None = None) -> None:
        self.session = session
        self._clients = dict(clients or {})
        self._account = account

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self.session is None:
                raise RuntimeError(f"no session and no {service} client given")
            try:
                self._clients[service] = self.session.client(service, config=CLIENT_CONFIG)
            except NoRegionError as exc:
                raise UsageError("no AWS region: pass --region or set AWS_REGION") from exc
        return self._clients[service]

    @property
    def region(self) -> str:
        region = self.client("sts").meta.region_name
        if not region:
            raise UsageError("no AWS region: pass --region or set AWS_REGION")
        return region

    def account(self) -> str:
        if self._account is None:
            with aws_call("sts:GetCallerIdentity", "the current credentials"):
                self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account


def make_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    # AWS_REGION (the SDKs' and CLI v2's variable) before AWS_DEFAULT_REGION, which botocore reads itself
    region = region or os.environ.get("AWS_REGION") or None
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise UsageError(f"AWS profile {profile!r} not found in ~/.aws/config or ~/.aws/credentials: "
                         "check --profile or AWS_PROFILE") from exc


def aws_options(command: F) -> F:
    """``--profile`` and ``--region`` for a command that talks to AWS."""
    command = click.option("--region", default=None, metavar="REGION",
                           help="AWS region (default: AWS_REGION or the profile's).")(command)
    return click.option("--profile", default=None, metavar="NAME",
                        help="AWS profile (default: AWS_PROFILE or the default chain).")(command)


def aws_from_context(profile: str | None, region: str | None) -> Aws:
    """The command's ``Aws``: the one a caller put in ``ctx.obj['aws']`` (tests), else a new session."""
    ctx = click.get_current_context(silent=True)
    injected = ctx.find_object(dict) if ctx is not None else None
    if injected and injected.get("aws") is not None:
        return injected["aws"]
    return Aws(make_session(profile, region))


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` across all pages of ``operation``."""
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


@contextmanager
def aws_call(action: str, resource: str) -> Iterator[None]:
    """Turn a botocore failure inside the block into an ``AwsError`` naming the action and resource.

    ``action`` is the IAM action ("cloudformation:CreateChangeSet"), ``resource`` what it was
    called on ("stack/acme-pipelines"), so a denied user knows exactly what to ask for.
    """
    try:
        yield
    except ClientError as exc:
        raise translate(exc, action, resource) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise CredentialsError(f"no usable AWS credentials for {action} on {resource}: "
                               f"{CREDENTIALS_HINT}") from exc
    except NoRegionError as exc:
        raise UsageError("no AWS region: pass --region or set AWS_REGION") from exc
    except EndpointConnectionError as exc:
        raise AwsError(f"{action} on {resource}: cannot reach {exc.kwargs.get('endpoint_url')}; "
                       "check --region, AWS_ENDPOINT_URL and the network") from exc
    except ResponseParserError as exc:
        # an endpoint answered with something that is not AWS (an emulator's HTML 500 page)
        first = str(exc).splitlines()[0][:100]
        raise AwsError(f"{action} on {resource} failed: the reply is not an AWS response ({first})") from exc
    except BotoCoreError as exc:
        raise AwsError(f"{action} on {resource} failed: {exc}") from exc


def translate(exc: ClientError, action: str, resource: str) -> AwsError:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    if code in DENIED:
        return AccessDeniedError(f"AccessDenied: {action} on {resource} is not allowed for these credentials "
                        f"({message}); ask for {action} on {resource}, or use --profile with a role "
                        "that has it")
    if code in EXPIRED:
        return CredentialsError(f"{code}: the AWS credentials have expired ({action} on {resource}); "
                        f"refresh them: {CREDENTIALS_HINT}")
    if code in BAD_CREDENTIALS:
        return CredentialsError(f"{code}: AWS rejected the credentials for {action} on {resource}; "
                        f"{CREDENTIALS_HINT}")
    return AwsError(f"{code or 'Error'}: {action} on {resource} failed: {message}")
