"""One deterministic zip per stack: the template and the normalized TemplateConfiguration.

Decision 1 (one archive per stack) and decision 2 (byte-identical archives for identical content):
the zip is built by generator/zipfiles.py, so the same content always gives the same bytes and an
unchanged stack never makes a new S3 object version. The content hash (names and bytes, not zip
bytes) is what the sync compares with the one it stored; an S3 ETag is never used for that
(decision 3).

A stack whose template names files of its folder (nested templates, ``AWS::Include`` snippets,
code) is packaged by ``sync/package.py``: its archive holds the template rewritten to the uploaded
versions, and its hash covers those files' content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from generator import naming
from generator.contract.stacks import LoadedStack
from generator.zipfiles import (  # noqa: F401 (re-exported: the sync's archive API)
    FIXED_DATE_TIME,
    FIXED_MODE,
    Archive,
    build_archive,
    content_hash,
)


def config_document(parameters: Mapping[str, str], tags: Mapping[str, str],
                    stack_policy: Any = None) -> dict:
    """The TemplateConfiguration the pipeline hands to CloudFormation."""
    document: dict[str, Any] = {"Parameters": {str(k): str(v) for k, v in parameters.items()},
                                "Tags": {str(k): str(v) for k, v in tags.items()}}
    if stack_policy is not None:
        document["StackPolicy"] = stack_policy
    return document


def config_bytes(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def archive_entries(stack: LoadedStack) -> dict[str, bytes]:
    """The archive's entries for a loaded stack: the raw template and the normalized config.

    A stack policy (protected, from ``pipelines/``) reaches CloudFormation through the
    TemplateConfiguration's ``StackPolicy``; a policy file is read here, when it is archived, so a
    change to the policy changes the archive and starts the stack's pipeline.
    """
    policy = None
    if stack.settings.stack_policy is not None:
        policy = json.loads(stack.settings.stack_policy.read_text("utf-8"))
    document = config_document(stack.configuration.parameters, stack.configuration.tags, policy)
    return {naming.ARCHIVE_TEMPLATE: stack.template_bytes, naming.ARCHIVE_CONFIG: config_bytes(document)}


def stack_archive(stack: LoadedStack) -> Archive:
    return build_archive(archive_entries(stack))
