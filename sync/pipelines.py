"""Start a stack's pipeline pinned to the object version the sync uploaded (decision 4).

``StartPipelineExecution`` with ``sourceRevisions`` (``S3_OBJECT_VERSION_ID``) makes the execution
read exactly that version, whatever was uploaded since: two quick merges cannot swap contents.
The commit id, author and subject go in as pipeline variables (the generator declares them) so the
approval shows where the change came from.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from email.header import Header
from typing import Any

from botocore.exceptions import ClientError

from generator import naming
from sync.git import CommitInfo
from sync.state import META_AUTHOR, META_SUBJECT

log = logging.getLogger(__name__)

# The S3 source action of every stack pipeline (the generator names it; see generator/naming.py).
SOURCE_ACTION_NAME = naming.SOURCE_ACTION_NAME
# PipelineVariable.value: 1 to 1000 characters matching ``.*`` (no line breaks). CodePipeline is a
# Java service, so its length counts UTF-16 code units and its ``.`` refuses \r, \u0085, \u2028 and
# \u2029 as well as \n.
MAX_VARIABLE_VALUE = 1000
EMPTY_VALUE = "-"
REDEPLOY_HINT = ("run `changegate generate`, commit pipelines/pipelines.json (and pipelines/shards/, "
                 "when it writes them) and redeploy the bootstrap stack (`changegate deploy`); the next "
                 "sync starts it")


class PipelineMissing(Exception):
    """The stack's pipeline does not exist (yet): the bootstrap stack was not redeployed."""


@dataclass(frozen=True)
class Started:
    pipeline: str
    execution_id: str
    version_id: str


def variable_value(text: str | None, limit: int = MAX_VARIABLE_VALUE) -> str:
    """``text`` as CodePipeline accepts it: one line, at most ``limit`` UTF-16 units, not empty."""
    if not text:
        return EMPTY_VALUE
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return EMPTY_VALUE
    if _utf16_len(cleaned) <= limit:
        return cleaned
    out, used = [], 0
    for ch in cleaned:
        size = _utf16_len(ch)
        if used + size > limit - 1:  # keep room for the ellipsis
            break
        out.append(ch)
        used += size
    return "".join(out) + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def commit_metadata(commit: CommitInfo) -> dict[str, str]:
    """Author and subject as object metadata: the values the variables carry, RFC 2047 when not ASCII.

    S3 user metadata travels in HTTP headers: "Amazon S3 stores user-defined metadata keys in
    lowercase" and non-ASCII values must be encoded (RFC 2047) (Amazon S3 user guide,
    UsingMetadata). The caps of the variables keep both well inside the 2 KB of user metadata.
    """
    metadata = {}
    for key, name, text in ((META_AUTHOR, "CommitAuthor", commit.author),
                            (META_SUBJECT, "CommitSubject", commit.subject)):
        if text:
            value = variable_value(text, naming.PIPELINE_VARIABLE_MAX_LENGTHS[name])
            metadata[key] = value if value.isascii() else Header(value, "utf-8").encode()
    return metadata


def pipeline_variables(commit: CommitInfo) -> list[dict[str, str]]:
    """The commit's id, author and subject, each within its own cap (F15 of the AWS notes).

    The approval's CustomData embeds the three variables; CodePipeline caps an action
    configuration value at 1,000 characters and does not document whether that applies before or
    after ``#{variables.X}`` resolves, so each value is kept to
    ``naming.PIPELINE_VARIABLE_MAX_LENGTHS`` (the generator sizes the approval text with the same
    numbers): a long subject ends in an ellipsis instead of making the approval fail.
    """
    values = dict(zip(naming.PIPELINE_VARIABLES, (commit.id, commit.author, commit.subject), strict=True))
    return [{"name": name, "value": variable_value(values[name], naming.PIPELINE_VARIABLE_MAX_LENGTHS[name])}
            for name in naming.PIPELINE_VARIABLES]


def start_request(pipeline: str, version_id: str, commit: CommitInfo) -> dict[str, Any]:
    return {
        "name": pipeline,
        "sourceRevisions": [{"actionName": SOURCE_ACTION_NAME, "revisionType": "S3_OBJECT_VERSION_ID",
                             "revisionValue": version_id}],
        "variables": pipeline_variables(commit),
    }


def start_pipeline(codepipeline: Any, pipeline: str, version_id: str, commit: CommitInfo) -> Started:
    try:
        response = codepipeline.start_pipeline_execution(**start_request(pipeline, version_id, commit))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "PipelineNotFoundException":
            raise PipelineMissing(pipeline) from exc
        raise
    execution_id = response["pipelineExecutionId"]
    log.info("started %s at version %s: execution %s", pipeline, version_id, execution_id)
    return Started(pipeline=pipeline, execution_id=execution_id, version_id=version_id)
