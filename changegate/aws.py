"""One boto3 session per command, its clients, and AWS errors turned into messages a user can act on.

The session honours ``--profile``/``--region`` and boto3's own environment (``AWS_PROFILE``,
``AWS_REGION``, ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``, ...). Library code
receives clients made here; tests hand in stubbed or moto-backed ones instead.
"""

from __future__ import annotations

import logging
import os
import re
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

# Bounded retries (issue 9, item 13). botocore's "standard" mode retries throttling and transient
# errors (HTTP 500, 502, 503, 504) with exponential backoff; with 10 retries an endpoint answering
# 502 kept a command busy for about 20 seconds per call before it said anything. Three attempts in
# all ("total_max_attempts" counts the first request, "max_attempts" would not) still ride out a
# throttled burst while status reads 150 pipelines (8 threads), and fail within seconds otherwise.
# Timeouts: botocore's default is 60 s each; no operator call needs more than a few seconds.
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                       connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                       user_agent_extra="changegate")
# What a proxy, a captive portal or a load balancer answers instead of AWS.
HTML_START = re.compile(r"\A\s*(?:<!doctype\s+html|<html|<head|<body|<title|<center|<h1)", re.IGNORECASE)
HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
HTML_TAG = re.compile(r"<[^>]+>")
NOT_AWS_HINT = ("a proxy or gateway answered instead of AWS: check HTTPS_PROXY/HTTP_PROXY, "
                "AWS_ENDPOINT_URL and --region")

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
                 account: str | None = None, arn: str | None = None) -> None:
        self.session = session
        self._clients = dict(clients or {})
        self._account = account
        self._arn = arn

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self.session is None:
                raise RuntimeError(f"no session and no {service} client given")
            try:
                client = self.session.client(service, config=CLIENT_CONFIG)
            except NoRegionError as exc:
                raise UsageError("no AWS region: pass --region or set AWS_REGION") from exc
            client.meta.events.register("before-parse", refuse_html_success)
            self._clients[service] = client
        return self._clients[service]

    @property
    def region(self) -> str:
        region = self.client("sts").meta.region_name
        if not region:
            raise UsageError("no AWS region: pass --region or set AWS_REGION")
        return region

    def account(self) -> str:
        if self._account is None:
            self._identity()
        return self._account

    def caller_arn(self) -> str:
        """The caller's ARN as CodePipeline records it in an approval's ``updatedBy``."""
        if self._arn is None:
            self._identity()
        return self._arn

    def _identity(self) -> None:
        with aws_call("sts:GetCallerIdentity", "the current credentials"):
            identity = self.client("sts").get_caller_identity()
        self._account, self._arn = identity["Account"], identity["Arn"]


def refuse_html_success(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """An HTML page answered with HTTP 200 (a captive portal, a proxy's login page) is not AWS.

    For JSON and query services botocore would parse it into an empty result (no stages, no
    stacks) and a command would report something false instead of failing. REST services (S3)
    are left alone: an object's own content type may well be text/html.
    """
    service = operation_model.service_model
    protocol = getattr(service, "resolved_protocol", None) or service.protocol
    status = response_dict.get("status_code") or 0
    content_type = str((response_dict.get("headers") or {}).get("content-type", ""))
    if protocol in ("json", "query") and status < 300 and content_type.lower().startswith("text/html"):
        body = response_dict.get("body") or b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        raise ResponseParserError(f"HTTP {status} with an HTML page: {text[:2000]}")


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
        # an endpoint answered with something that is not AWS (an emulator's or a proxy's HTML page)
        text = str(exc)
        what = f"an HTML page ({html_summary(text)})" if "<html" in text.lower() else \
            f"something else ({one_line(text.splitlines()[0], 100)})"
        raise AwsError(f"{action} on {resource} failed: the reply is not an AWS response but "
                       f"{what}; {NOT_AWS_HINT}") from exc
    except BotoCoreError as exc:
        raise AwsError(f"{action} on {resource} failed: {one_line(str(exc))}") from exc


def translate(exc: ClientError, action: str, resource: str) -> AwsError:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    metadata = exc.response.get("ResponseMetadata", {})
    content_type = str(metadata.get("HTTPHeaders", {}).get("content-type", ""))
    if HTML_START.match(message) or content_type.lower().startswith("text/html"):
        # Not AWS. A JSON service's error parser puts the page into Message verbatim (many lines);
        # an XML service's parser reads the page as XML and leaves "Unknown" (its title in "head")
        # a retried 5xx keeps only the HTTP reason phrase ("Bad Gateway")
        head = exc.response.get("head")
        title = head.get("title") if isinstance(head, dict) else None
        summary = (html_summary(message) if HTML_START.match(message)
                   else f'"{one_line(title or message, 80)}"')
        status = metadata.get("HTTPStatusCode") or code or "?"
        return AwsError(f"{action} on {resource} failed: the endpoint answered HTTP {status} with an "
                        f"HTML page ({summary}), not an AWS response; {NOT_AWS_HINT}")
    message = one_line(message, 500)
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


def html_summary(page: str) -> str:
    """An HTML page in a few words: its title, else its text, on one line."""
    title = HTML_TITLE.search(page)
    text = title.group(1) if title else HTML_TAG.sub(" ", page)
    return f"\"{one_line(text, 80)}\""


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its whitespace collapsed, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."
