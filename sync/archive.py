"""One deterministic zip per stack: the template and the normalized TemplateConfiguration.

Decision 1 (one archive per stack) and decision 2 (byte-identical archives for identical content):
entries are written in sorted order with a fixed timestamp (1980-01-01, the earliest a zip can
hold), fixed permissions (0644), no extra fields and a fixed deflate level, so the same content
always gives the same bytes and an unchanged stack never makes a new S3 object version.

The content hash is a SHA-256 over the archive's *logical* content (entry names and bytes), not
over the zip bytes: a different zlib build may deflate the same bytes differently, and that must
not make every stack look changed after a Python upgrade. It is the hash the sync compares with
the one it stored; an S3 ETag is never used for that (decision 3).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from generator import naming
from generator.stacks import LoadedStack

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_MODE = 0o100644  # a regular file, rw-r--r--
COMPRESS_LEVEL = 6
HASH_DOMAIN = b"changegate-archive-v1\n"


@dataclass(frozen=True)
class Archive:
    data: bytes  # the zip
    sha256: str  # hex digest of the logical content (see content_hash)


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


def content_hash(entries: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256(HASH_DOMAIN)
    for name in sorted(entries):
        data = entries[name]
        encoded = name.encode("utf-8")
        # lengths first: no two different entry sets can hash the same byte stream
        digest.update(b"%d:%d:" % (len(encoded), len(data)) + encoded + data)
    return digest.hexdigest()


def build_archive(entries: Mapping[str, bytes]) -> Archive:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=COMPRESS_LEVEL) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = FIXED_MODE << 16
            info.create_system = 3  # unix, whatever the host: the mode bits above are unix ones
            archive.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED,
                             compresslevel=COMPRESS_LEVEL)
    return Archive(data=buffer.getvalue(), sha256=content_hash(entries))


def stack_archive(stack: LoadedStack) -> Archive:
    return build_archive(archive_entries(stack))
