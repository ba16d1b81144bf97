"""Every AWS name changegate derives, in one place.

Decision 7 (least privilege by naming): every managed stack, pipeline and change set
carries the project prefix, so IAM policies are constant-size wildcards on that prefix.
"""

from __future__ import annotations

import re

# Anchored with \A and \Z, never ^ and $: "$" also matches before a final newline, so
# "acme\n" would pass a "$"-anchored pattern and end up inside an ARN.
# A project name holds no hyphen: every IAM wildcard is "<project>-*", and with hyphens allowed
# project "acme"'s "acme-*" would also cover project "acme-prod"'s stacks, pipelines and change
# sets. Without them, "<project>-" is a prefix of no other project's names.
PROJECT_RE = re.compile(r"\A[a-z][a-z0-9]{1,19}\Z")
# A stack folder becomes part of a stack name: CloudFormation's rule, minus the prefix.
STACK_FOLDER_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9-]*\Z")
CLOUDFORMATION_STACK_NAME_RE = re.compile(r"\A[A-Za-z][A-Za-z0-9-]*\Z")
CODEPIPELINE_NAME_RE = re.compile(r"\A[A-Za-z0-9.@_-]+\Z")

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
# The Source action of every stack pipeline: the sync pins its revision to the version it uploaded.
SOURCE_ACTION_NAME = "Source"

# ---- The shape of a stack pipeline (generator/bootstrap/pipeline.py builds it, changegate/ reads it) ----

SOURCE_STAGE = "Source"
# Plan, approval and execution of one change set happen in ONE stage, actions ordered by RunOrder.
# "Because each stage can process only one execution at a time, the stage is locked while in
# progress" (CodePipeline user guide, concepts-how-it-works), and "After you execute a change set,
# CloudFormation deletes any additional change sets that are associated with the stack"
# (CloudFormation user guide, using-cfn-updating-stacks-changesets-execute). In separate stages a
# queued execution would plan while the previous one waits for approval and lose its change set
# when that one executes (../shared/notes/aws-fidelity.md, F4). In one stage it plans only after.
CHANGE_STAGE = "Change"
PLAN_ACTION = "CreateChangeSet"
APPROVE_ACTION = "Approve"
EXECUTE_ACTION = "ExecuteChangeSet"
# The two Lambda actions around ExecuteChangeSet that apply the owner's stack policy and prove it
# applied (generator/bootstrap/function.py, review/stack_policy.py; aws-fidelity notes, F6).
APPLY_POLICY_ACTION = "ApplyStackPolicy"
VERIFY_POLICY_ACTION = "VerifyStackPolicy"
# The Lambda action that reads and judges the change set before anyone is asked (review/steps.py),
# and its output-variable namespace: the approval reads #{Review.Summary} and #{Review.ReviewLink}.
REVIEW_ACTION = "Review"
REVIEW_NAMESPACE = "Review"
# Beside Approve (same RunOrder): the second approval high-risk changes need, and the step that
# approves it itself when one approval is enough (review/approvals.py says why that is safe).
SECOND_APPROVAL_ACTION = "SecondApproval"
WAIVE_ACTION = "WaiveSecondApproval"
APPROVAL_ACTIONS = (APPROVE_ACTION, SECOND_APPROVAL_ACTION)
# The stale guard after the approvals: the change set is still the reviewed one, the stack
# unchanged, and a high-risk change approved by two different people.
CHECK_ACTION = "CheckChangeSet"
# What the Change stage's actions do, in the order the template lists them: plan, review, the
# approvals (Approve, SecondApproval and WaiveSecondApproval run side by side), check it is still
# the reviewed change set, apply the policy, execute, verify the policy.
CHANGE_ACTIONS = (PLAN_ACTION, REVIEW_ACTION, APPROVE_ACTION, SECOND_APPROVAL_ACTION, WAIVE_ACTION,
                  CHECK_ACTION, APPLY_POLICY_ACTION, EXECUTE_ACTION, VERIFY_POLICY_ACTION)
# A stack with a deployment window waits for it after the approvals, before CheckChangeSet (RunOrder
# 4, the later actions one further); other stacks have no such action.
WINDOW_ACTION = "WaitForWindow"
# Their RunOrder: the three approval actions share one.
CHANGE_RUN_ORDER = {PLAN_ACTION: 1, REVIEW_ACTION: 2, APPROVE_ACTION: 3, SECOND_APPROVAL_ACTION: 3,
                    WAIVE_ACTION: 3, CHECK_ACTION: 4, APPLY_POLICY_ACTION: 5, EXECUTE_ACTION: 6,
                    VERIFY_POLICY_ACTION: 7}
# The Change stage's entry condition: a run the sync did not start (the run on pipeline creation,
# a console "Release change") still has this default CommitId, and the stage is skipped.
SKIP_RULE = "StartedBySync"
# Pipeline-level variables the sync sets on StartPipelineExecution, shown to approvers.
PIPELINE_VARIABLES = ("CommitId", "CommitAuthor", "CommitSubject")
# Their declared default: what a run the sync did not start carries. The sync never sends it (it
# sends "-" for an empty value), so the Change stage's entry condition can tell the two apart.
PIPELINE_VARIABLE_DEFAULT = "unknown"
# The longest value the sync sets for each (it shortens longer ones). CodePipeline resolves the
# variables into the approval's CustomData, and "Maximum length of the action configuration value
# ... 1000 characters" is not documented as applying before or after resolution (aws-fidelity
# notes, F15): these bounds keep the resolved text within MAX_CUSTOM_DATA either way.
PIPELINE_VARIABLE_MAX_LENGTHS = {"CommitId": 64, "CommitAuthor": 80, "CommitSubject": 120}
# Environment variables the generated sync CodeBuild project sets for `changegate sync`.
ENV_SOURCE_BUCKET = "CHANGEGATE_SOURCE_BUCKET"
ENV_SOURCE_PREFIX = "CHANGEGATE_SOURCE_PREFIX"


# Content the sync packages from stack folders (sync/package.py): <prefix>.assets/<folder>/<sha256><ext>.
ASSETS_PREFIX = f"{DEFAULT_SOURCE_PREFIX}.assets/"


def source_object_key(folder: str, prefix: str = DEFAULT_SOURCE_PREFIX) -> str:
    return f"{prefix}{folder}.zip"


# ---- Operator commands (changegate deploy/status/approve) ----

# CloudFormation change set names: a letter, then letters, digits and hyphens, at most 128.
MAX_CHANGE_SET_NAME = 128


def change_set_name_for(project: str, execution_id: str) -> str:
    """The change set a stack pipeline's Plan stage creates for one execution (decision 5).

    The pipeline configures it as ``<project>-#{codepipeline.PipelineExecutionId}``.
    """
    return f"{project}-{execution_id}"


def staging_bucket_name(account: str, region: str) -> str:
    """The bucket ``changegate deploy`` uploads the bootstrap template to (too big to inline)."""
    return f"changegate-staging-{account}-{region}"


# ---- Names inside the bootstrap stack (added with the generator) ----

# CodePipeline resolves this to the execution's UUID (36 characters) before CloudFormation sees it.
EXECUTION_ID_VARIABLE = "#{codepipeline.PipelineExecutionId}"
EXECUTION_ID_LENGTH = 36
CHANGE_SET_NAME_RE = re.compile(r"\A[a-zA-Z][-a-zA-Z0-9]*\Z")
MAX_ROLE_NAME = 64
MAX_CONNECTION_NAME = 32


def change_set_name(project: str) -> str:
    """The change set name of one execution: ``<project>-<execution id>`` (decision 5).

    Plan creates it and Execute executes it in the same execution, so what was approved is
    exactly what executes. The project prefix lets IAM scope change sets with ``<project>-*``.
    """
    return f"{project}-{EXECUTION_ID_VARIABLE}"


def change_set_name_pattern(project: str) -> str:
    """An IAM wildcard matching every change set name :func:`change_set_name` yields."""
    return f"{project}-*"


def role_name(project: str, purpose: str) -> str:
    """An IAM role of the bootstrap stack: ``<project>-changegate-<purpose>``."""
    return f"{project}-changegate-{purpose}"


def boundary_policy_name(project: str) -> str:
    """The permissions boundary every role or user a managed stack creates must carry."""
    return f"{project}-changegate-boundary"


def approvers_policy_name(project: str) -> str:
    return f"{project}-changegate-approvers"


def connection_name(project: str) -> str:
    """The CodeConnections connection the bootstrap stack creates (at most 32 characters)."""
    return f"{project}-github"


def sync_project_name(project: str) -> str:
    """The CodeBuild project that runs ``changegate sync``."""
    return f"{project}-sync"


def sync_log_group_name(project: str) -> str:
    return f"/aws/codebuild/{sync_project_name(project)}"


def artifact_key_alias(project: str) -> str:
    return f"alias/{project}-changegate"


# ---- The steps function the stack pipelines invoke (generator/bootstrap/function.py) ----

# One function runs every Lambda step of the Change stage (review, stale guard, stack policy):
# ``<project>-changegate-steps``, its role of the same name. (The names ``STACK_POLICY_PURPOSE``,
# ``stack_policy_function_name`` and ``stack_policy_log_group_name`` stay as aliases for callers.)
STEPS_PURPOSE = "steps"
STACK_POLICY_PURPOSE = STEPS_PURPOSE
MAX_FUNCTION_NAME = 64


def steps_function_name(project: str) -> str:
    """The Lambda function of ``review/steps.py``: ``<project>-changegate-steps``."""
    return f"{project}-changegate-{STEPS_PURPOSE}"


def steps_log_group_name(project: str) -> str:
    """Lambda's own log group name for the function (it logs there; the template creates it)."""
    return f"/aws/lambda/{steps_function_name(project)}"


stack_policy_function_name = steps_function_name
stack_policy_log_group_name = steps_log_group_name


# ---- Termination protection of the managed stacks (generator/bootstrap/protection.py) ----

# SSM reserves these document name prefixes for AWS (CreateDocument rejects them).
SSM_RESERVED_DOCUMENT_PREFIXES = ("aws", "amazon", "amzn")
MAX_EVENT_RULE_NAME = 64


def protection_document_name(project: str) -> str:
    """The SSM Automation document that turns termination protection on for one stack."""
    return f"{project}-changegate-termination-protection"


def protection_rule_name(project: str, index: int) -> str:
    """The EventBridge rule(s) that start that document; usually one, more only for huge patterns."""
    return f"{project}-changegate-protection-{index:02d}"


# ---- The audit records and their recorder (generator/bootstrap/recorder.py, review/record.py) ----

# One JSON record per finished execution, in the source bucket beside the archives but never under
# DEFAULT_SOURCE_PREFIX, which the sync lists on every run: audit/<pipeline>/<start>-<execution id>.json.
AUDIT_PREFIX = "audit/"
RECORDER_PURPOSE = "recorder"


def audit_records_prefix(pipeline: str) -> str:
    """Where the audit records of one pipeline are: ``audit/<pipeline>/``."""
    return f"{AUDIT_PREFIX}{pipeline}/"


def recorder_function_name(project: str) -> str:
    """The function of ``review/record.py``: ``<project>-changegate-recorder``, its role named alike."""
    return role_name(project, RECORDER_PURPOSE)


def recorder_log_group_name(project: str) -> str:
    return f"/aws/lambda/{recorder_function_name(project)}"


def audit_rule_name(project: str) -> str:
    """The EventBridge rule that sends the pipelines' final states to the recorder."""
    return f"{project}-changegate-audit"
