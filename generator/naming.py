"""Every AWS name changegate derives, in one place.

Decision 7 (least privilege by naming): every managed stack, pipeline and change set
carries the project prefix, so IAM policies are constant-size wildcards on that prefix.
"""

from __future__ import annotations

import re

PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")
# A stack folder becomes part of a stack name: CloudFormation's rule, minus the prefix.
STACK_FOLDER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
CLOUDFORMATION_STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
CODEPIPELINE_NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]+$")

# Names the project itself uses next to the stacks' ones: a stack folder may not take them, or
# its stack or pipeline would be the bootstrap stack or the sync pipeline.
BOOTSTRAP_SUFFIX = "pipelines"
SYNC_SUFFIX = "sync"
RESERVED_FOLDERS = frozenset({BOOTSTRAP_SUFFIX, SYNC_SUFFIX})

MAX_STACK_NAME = 128
MAX_PIPELINE_NAME = 100


def stack_name(project: str, folder: str, override: str | None = None) -> str:
    """The CloudFormation stack name: ``<project>-<folder>``, or an adopted stack's own name."""
    return override or f"{project}-{folder}"


def pipeline_name(project: str, folder: str) -> str:
    """The CodePipeline name of a stack: always prefixed, even for an adopted stack."""
    return f"{project}-{folder}"


def bootstrap_stack_name(project: str) -> str:
    """The hand-deployed stack that holds every pipeline."""
    return f"{project}-{BOOTSTRAP_SUFFIX}"


def sync_pipeline_name(project: str) -> str:
    return f"{project}-{SYNC_SUFFIX}"


def folder_of_pipeline(project: str, pipeline: str) -> str | None:
    """The stack folder a pipeline belongs to, or None when it is not one of this project's."""
    prefix = f"{project}-"
    if not pipeline.startswith(prefix):
        return None
    folder = pipeline[len(prefix):]
    if folder in RESERVED_FOLDERS or not STACK_FOLDER_RE.match(folder):
        return None
    return folder


# ---- The contract between the sync (which writes) and the stack pipelines (which read) ----

# Each stack is one S3 object: <prefix><folder>.zip (decision 1: one archive per stack).
DEFAULT_SOURCE_PREFIX = "stacks/"
# Entries of that archive. The template keeps one name whatever its format: JSON is valid
# YAML and CloudFormation reads either, so renaming template.json to template.yaml in the
# repository never changes what a pipeline is configured to read.
ARCHIVE_TEMPLATE = "template.yaml"
ARCHIVE_CONFIG = "config.json"  # the normalized TemplateConfiguration
# Pipeline-level variables the sync sets on StartPipelineExecution, shown to approvers.
PIPELINE_VARIABLES = ("CommitId", "CommitAuthor", "CommitSubject")
# Environment variables the generated sync CodeBuild project sets for `changegate sync`.
ENV_SOURCE_BUCKET = "CHANGEGATE_SOURCE_BUCKET"
ENV_SOURCE_PREFIX = "CHANGEGATE_SOURCE_PREFIX"


def source_object_key(folder: str, prefix: str = DEFAULT_SOURCE_PREFIX) -> str:
    return f"{prefix}{folder}.zip"
