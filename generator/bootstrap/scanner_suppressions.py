"""Scanner findings on the bootstrap template that are accepted, each with its written reason.

CI runs checkov, parliament, cfn-lint and cfn-guard with the AWS Control Tower proactive controls
on the generated template (``.ci/scan.py``). A finding passes only when this table names it with a
reason; a suppression that no longer matches a finding fails the scan too, so the table cannot
rot. The table goes into the template as ``Metadata.Changegate.ScannerSuppressions``, where the
reviewers of ``pipelines/pipelines.json`` read it next to the resources it speaks of.

Shape: ``{tool: {rule: {"reason": str, "resources": [logical ids]}}}``; without ``resources`` the
rule is accepted for the whole template (cfn-guard reports per template, not per resource).
"""

from __future__ import annotations

from generator import logical_ids
from generator.contract.config import PipelinesConfig

ACCESS_LOGGING = (
    "Server access logging would need a third bucket, itself unlogged. Who wrote which object is what "
    "matters here, and only changegate's roles can write (bucket policy); CloudTrail data events "
    "record each write with its principal, better than access logs. Enable them for the source bucket "
    "in the account's trail.")
ARTIFACT_VERSIONING = (
    "Pipeline artifacts are transient copies of versioned sources, expire after 90 days, and only the "
    "pipeline role may write them (bucket policy); versions would keep copies nobody reads.")
EVENT_NOTIFICATIONS = (
    "Nothing consumes bucket events: the sync starts each pipeline itself, pinned to the version it "
    "uploaded (decision 4).")
OBJECT_LOCK = (
    "Object Lock can only be enabled when a bucket is created and would stop the lifecycle rules that "
    "expire old source versions and artifacts; the bucket policies already deny writes and deletes to "
    "everyone but changegate's writer role.")
FUNCTION_IN_VPC = (
    "changegate's functions call only AWS APIs (CloudFormation, CodePipeline, S3); a VPC would add NAT "
    "or endpoints and nothing to protect.")
FUNCTION_DLQ = (
    "CodePipeline invokes the function synchronously and waits for PutJobSuccessResult or "
    "PutJobFailureResult; a dead-letter queue only receives failed asynchronous invocations.")
JOIN_FOR_CONTROL_TOWER = (
    "The bucket policies build object ARNs with Fn::Join: AWS Control Tower's CT.S3.PR.8 recognises a "
    "TLS-only statement only in that form (buckets.py), and cfn-guard outranks a style hint.")
KEY_ADMINISTRATION = (
    "Key administration (PutKeyPolicy, ScheduleKeyDeletion, ...) stays with the account, named action "
    "by action: without it nobody could manage the key again. Grants are denied unless for AWS "
    "resources, and the guardrail policy keeps the administrative calls from everyone but a "
    "break-glass role.")
PASS_ROLE_SCOPED = (
    "iam:PassRole names one role and is limited by iam:PassedToService to the one service that needs "
    "it; cloudformation:SetStackPolicy is limited to the managed stacks and applies the owners' policy "
    "from pipelines/ (review/stack_policy.py).")
CONNECTION_USE = (
    "The sync pipeline's role uses (and may pass to CodeBuild, as the full clone needs) the one GitHub "
    "connection of the configuration, nothing else.")
ARN_AS_STRING = (
    "s3:x-amz-server-side-encryption-aws-kms-key-id and iam:PermissionsBoundary hold an ARN as a string; "
    "the Amazon S3 and IAM documentation compare them with String operators the same way.")
BOUNDARY_IS_A_CEILING = (
    "A permissions boundary grants nothing: it caps what a role's own policies can grant (IAM user "
    "guide, access_policies_boundaries). This one allows everything except what changegate forbids "
    "(its Deny statements), so the stacks' roles keep what their templates give them and never reach "
    "changegate's roles, buckets, key, pipelines or approvers.")
STACK_ROLES = (
    "execution_role.manage_stack_roles: the execution role manages only the stacks' own roles "
    "(<project>-*), and may create them only with the boundary (iam:PermissionsBoundary condition); "
    "changegate's own roles and the approvers stay denied.")
FUNCTION_CONCURRENCY = (
    "Reserved concurrency would take capacity from the account's unreserved pool (new accounts have "
    "little) and fail deployment where it is short; invocations are bounded by the pipelines' stage "
    "locks: at most one per stack pipeline at a time.")
NEWER_THAN_PARLIAMENT = (
    "cloudformation:DescribeEvents (CloudFormation's early validations and hooks of a change set, "
    "review/validations.py) is in the service authorization reference, as cfn-lint's copy of it shows "
    "(describeevents -> changeset, stack), but newer than parliament's bundled action list.")
RECORDER_CONCURRENCY = (
    "Reserved concurrency would take capacity from the account's unreserved pool and fail deployment "
    "where it is short; the recorder runs once per pipeline execution that ends, seconds each.")
RECORDER_DLQ = (
    "EventBridge retries delivery for 24 hours and Lambda an asynchronous invocation twice more. An "
    "execution still without a record is not lost: changegate audit reads it from CodePipeline's "
    "history (12 months) and marks it as having no audit record; the function's Errors metric shows "
    "the failure.")
RECORDER_ENVIRONMENT = (
    "The recorder's environment holds the source bucket's name and the pipelines' name prefix, no "
    "secret; Lambda encrypts environment variables at rest with an AWS managed key.")


def _ids_ending(suffix: str) -> list[str]:
    return sorted(getattr(logical_ids, attr) for attr in dir(logical_ids) if attr.endswith(suffix))


def _function_ids() -> list[str]:
    """The pipeline function(s) of generator/bootstrap/function.py (the recorder has its own reasons)."""
    return [name for name in _ids_ending("_FUNCTION") if name != logical_ids.RECORDER_FUNCTION]


def _function_roles() -> list[str]:
    """Their roles: the one named like each function, ``<Name>Function`` -> ``<Name>Role``."""
    return [name.removesuffix("Function") + "Role" for name in _function_ids()]


def scanner_suppressions(config: PipelinesConfig) -> dict:
    """The accepted findings, by tool and rule, each with its reason."""
    buckets = [logical_ids.ARTIFACT_BUCKET, logical_ids.SOURCE_BUCKET]
    functions = _function_ids()
    accepted = {
        "cfn-lint": {
            "I1022": {"resources": [logical_ids.ARTIFACT_BUCKET_POLICY, logical_ids.SOURCE_BUCKET_POLICY],
                      "reason": JOIN_FOR_CONTROL_TOWER},
        },
        "parliament": {
            "PERMISSIONS_MANAGEMENT_ACTIONS": {
                "resources": sorted([logical_ids.ARTIFACT_KEY, logical_ids.PIPELINE_ROLE,
                                     logical_ids.PROTECTION_EVENTS_ROLE, logical_ids.SYNC_PIPELINE_ROLE,
                                     *_function_roles()]),
                "reason": f"{KEY_ADMINISTRATION} {PASS_ROLE_SCOPED} {CONNECTION_USE}"},
            "MISMATCHED_TYPE_BUT_USABLE": {
                "resources": [logical_ids.EXECUTION_ROLE, logical_ids.EXECUTION_BOUNDARY,
                              logical_ids.SOURCE_BUCKET_POLICY],
                "reason": ARN_AS_STRING},
            **{issue: {"resources": [logical_ids.EXECUTION_BOUNDARY], "reason": BOUNDARY_IS_A_CEILING}
               for issue in ("CREDENTIALS_EXPOSURE", "PRIVILEGE_ESCALATION")},
            "UNKNOWN_ACTION": {"resources": [logical_ids.STACK_POLICY_ROLE], "reason": NEWER_THAN_PARLIAMENT},
        },
        "checkov": {
            **{rule: {"resources": [logical_ids.EXECUTION_BOUNDARY], "reason": BOUNDARY_IS_A_CEILING}
               for rule in ("CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111")},
            "CKV_AWS_18": {"resources": buckets, "reason": ACCESS_LOGGING},
            "CKV_AWS_21": {"resources": [logical_ids.ARTIFACT_BUCKET], "reason": ARTIFACT_VERSIONING},
            # one reason per rule: the recorder's own is added, saying which function it speaks of
            "CKV_AWS_115": {"resources": [*functions, logical_ids.RECORDER_FUNCTION],
                            "reason": f"{FUNCTION_CONCURRENCY} The recorder: {RECORDER_CONCURRENCY}"},
            "CKV_AWS_116": {"resources": [*functions, logical_ids.RECORDER_FUNCTION],
                            "reason": f"{FUNCTION_DLQ} The recorder: {RECORDER_DLQ}"},
            "CKV_AWS_117": {"resources": [*functions, logical_ids.RECORDER_FUNCTION],
                            "reason": FUNCTION_IN_VPC},
            "CKV_AWS_173": {"resources": [logical_ids.RECORDER_FUNCTION], "reason": RECORDER_ENVIRONMENT},
        },
        "cfn-guard": {
            "CT.S3.PR.2": {"reason": ACCESS_LOGGING},
            "CT.S3.PR.4": {"reason": EVENT_NOTIFICATIONS},
            "CT.S3.PR.9": {"reason": OBJECT_LOCK},
            "CT.S3.PR.11": {"reason": ARTIFACT_VERSIONING},
            "CT.LAMBDA.PR.3": {"reason": FUNCTION_IN_VPC},
            "CT.IAM.PR.2": {"reason": BOUNDARY_IS_A_CEILING},
            "CT.IAM.PR.3": {"reason": BOUNDARY_IS_A_CEILING},
        },
    }
    management = accepted["parliament"]["PERMISSIONS_MANAGEMENT_ACTIONS"]
    management["resources"] = sorted([*management["resources"], logical_ids.EXECUTION_BOUNDARY])
    management["reason"] += f" {BOUNDARY_IS_A_CEILING}"
    if config.manage_stack_roles:
        management["resources"] = sorted([*management["resources"], logical_ids.EXECUTION_ROLE])
        management["reason"] += f" {STACK_ROLES}"
    if any(":user/" in arn for arn in config.approvers):
        # CT.IAM.PR.4 "no IAM policies on IAM users": the owners chose a user as an approver.
        accepted["cfn-guard"]["CT.IAM.PR.4"] = {"reason": (
            "pipelines/config.yaml names an IAM user among the approvers, so the approvers policy is "
            "attached to a user; prefer a group or a role.")}
    return accepted
