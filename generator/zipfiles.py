"""Deterministic zip archives: the same entries always give the same bytes.

Used for the stack archives the sync uploads (decisions 1 and 2) and for the code of the Lambda
function the stack pipelines invoke (generator/bootstrap/functions.py). Entries are written in sorted order
with a fixed timestamp (1980-01-01, the earliest a zip can hold), fixed permissions (0644), no
extra fields and a fixed deflate level.

The content hash is a SHA-256 over the archive's *logical* content (entry names and bytes), not
over the zip bytes: a different zlib build may deflate the same bytes differently, and that must
not make every stack (or the function code) look changed after a Python upgrade.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_MODE = 0o100644  # a regular file, rw-r--r--
COMPRESS_LEVEL = 6
HASH_DOMAIN = b"changegate-archive-v1\n"


@dataclass(frozen=True)
class Archive:
    data: bytes  # the zip
    sha256: str  # hex digest of the logical content (see content_hash)


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
