"""ARNs of the bootstrap stack's named things, built from names rather than references.

Building an ARN from a name (``Fn::Sub``) instead of ``GetAtt`` breaks dependency cycles: the
KMS key policy names the roles that use the key while those roles' policies name the key,
and a role's policy names the CodeBuild project that runs as that role.
"""

from __future__ import annotations

from troposphere import Sub

from generator import naming

_PREFIX = "arn:${AWS::Partition}"


def role(name: str) -> Sub:
    return Sub(f"{_PREFIX}:iam::${{AWS::AccountId}}:role/{name}")


def account_root() -> Sub:
    return Sub(f"{_PREFIX}:iam::${{AWS::AccountId}}:root")


def pipeline(name_or_pattern: str) -> Sub:
    return Sub(f"{_PREFIX}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:{name_or_pattern}")


def approval_action(pipeline_pattern: str, stage: str, action: str) -> Sub:
    return Sub(f"{_PREFIX}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:"
               f"{pipeline_pattern}/{stage}/{action}")


def stack(name_or_pattern: str) -> Sub:
    """Every stack with that name, whatever its id: ``stack/<name>/*``."""
    return Sub(f"{_PREFIX}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{name_or_pattern}/*")


def change_set(name_pattern: str) -> Sub:
    """Change sets by name (any stack): ``changeSet/<name>/<id>``."""
    return Sub(f"{_PREFIX}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:changeSet/{name_pattern}/*")


def function(name: str) -> Sub:
    """A Lambda function (unqualified: every version and alias is ``<arn>:<qualifier>``, not matched)."""
    return Sub(f"{_PREFIX}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}")


def codebuild_project(name: str) -> Sub:
    return Sub(f"{_PREFIX}:codebuild:${{AWS::Region}}:${{AWS::AccountId}}:project/{name}")


def log_group(name: str) -> Sub:
    return Sub(f"{_PREFIX}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}")


def log_streams(name: str) -> Sub:
    return Sub(f"{_PREFIX}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}:log-stream:*")


def managed_policy(name: str) -> Sub:
    return Sub(f"{_PREFIX}:iam::${{AWS::AccountId}}:policy/{name}")


def project_roles(project: str) -> dict[str, str]:
    """purpose -> role name of changegate's core roles: the stack pipelines', the sync pipeline's,
    the sync build's and CloudFormation's."""
    return {purpose: naming.role_name(project, purpose)
            for purpose in ("pipeline", "sync-pipeline", "sync", "cloudformation")}


def bucket_objects(bucket_logical_id: str, key_prefix: str = "") -> Sub:
    """Objects of a bucket of this template whose keys start with ``key_prefix``."""
    return Sub(f"${{{bucket_logical_id}.Arn}}/{key_prefix}*")


def automation_definition(document: str, version: str | None = None) -> Sub:
    """An SSM Automation runbook as EventBridge targets it (``version`` None) or IAM names it.

    ``document`` may be ``${LogicalId}`` (a reference: the document's name) or a literal name.
    """
    suffix = f":{version}" if version else ""
    return Sub(f"{_PREFIX}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:automation-definition/{document}{suffix}")


def regional(service: str, resource: str) -> Sub:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` in this account and region."""
    return Sub(f"{_PREFIX}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def stack_id_prefix(name: str) -> Sub:
    """The start of every stack id of the stack ``name`` in this account and region.

    A stack id is ``arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>``.
    """
    return Sub(f"{_PREFIX}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{name}")
