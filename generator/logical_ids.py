"""Stable CloudFormation logical ids, from one helper (house style: deterministic output).

A logical id is alphanumeric; a stack folder may hold hyphens, so ``my-stack`` becomes
``MyStack``. Two folders that differ only in hyphens or case would collide: ``build_template``
checks every id it hands out is unique.
"""

from __future__ import annotations

import re

MAX_LOGICAL_ID = 255

_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def logical_id(*parts: str) -> str:
    """``logical_id("Pipeline", "my-stack")`` -> ``"PipelineMyStack"``."""
    words: list[str] = []
    for part in parts:
        words.extend(w for w in _SEPARATORS.split(part) if w)
    return "".join(w[0].upper() + w[1:] for w in words)


# The bootstrap stack's fixed resources. One name each, used by every builder.
ARTIFACT_KEY = "ArtifactKey"
ARTIFACT_KEY_ALIAS = "ArtifactKeyAlias"
SOURCE_BUCKET = "SourceBucket"
SOURCE_BUCKET_POLICY = "SourceBucketPolicy"
ARTIFACT_BUCKET = "ArtifactBucket"
ARTIFACT_BUCKET_POLICY = "ArtifactBucketPolicy"
TOPIC = "ApprovalTopic"
TOPIC_POLICY = "ApprovalTopicPolicy"
CONNECTION = "GitHubConnection"
PIPELINE_ROLE = "PipelineRole"
SYNC_PIPELINE_ROLE = "SyncPipelineRole"
SYNC_ROLE = "SyncRole"
EXECUTION_ROLE = "CloudFormationExecutionRole"
APPROVERS_POLICY = "ApproversPolicy"
EXECUTION_BOUNDARY = "ExecutionBoundaryPolicy"
SYNC_LOG_GROUP = "SyncLogGroup"
SYNC_PROJECT = "SyncProject"
SYNC_PIPELINE = "SyncPipeline"
# Termination protection of the managed stacks (generator/bootstrap/protection.py).
PROTECTION_DOCUMENT = "TerminationProtectionDocument"
PROTECTION_ROLE = "TerminationProtectionRole"
PROTECTION_EVENTS_ROLE = "TerminationProtectionEventsRole"
# The stack-policy function the stack pipelines invoke (generator/bootstrap/function.py).
STACK_POLICY_FUNCTION = "StackPolicyFunction"
STACK_POLICY_ROLE = "StackPolicyRole"
STACK_POLICY_LOG_GROUP = "StackPolicyLogGroup"
# The audit recorder (generator/bootstrap/recorder.py): one of each, whatever the number of stacks.
RECORDER_FUNCTION = "RecorderFunction"
RECORDER_ROLE = "RecorderRole"
RECORDER_LOG_GROUP = "RecorderLogGroup"
AUDIT_RULE = "AuditRule"
AUDIT_RULE_PERMISSION = "AuditRulePermission"


def stack_pipeline(folder: str) -> str:
    return logical_id("Pipeline", folder)


def email_subscription(index: int) -> str:
    return f"ApprovalEmail{index:03d}"


def protection_rule(index: int) -> str:
    return f"TerminationProtectionRule{index:02d}"
