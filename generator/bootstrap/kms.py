"""The customer-managed KMS key that encrypts artifacts, the source bucket and the topic."""

from __future__ import annotations

from awacs.aws import (
    Allow,
    ArnLike,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from awacs.kms import Action as KmsAction
from troposphere import GetAtt, Retain, Sub
from troposphere.kms import Alias, Key

from generator import logical_ids, naming
from generator.bootstrap import arns
from generator.bootstrap.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.contract.config import PipelinesConfig

# Managing the key stays with the account (IAM decides who): without this statement nobody
# could ever change or delete the key again. The actions are named, not "Create*" and "Put*":
# "kms:Create* Allows kms:CreateAlias and kms:CreateGrant" and "Because key administrators have
# permission to change the key policy and create grants, they can give themselves and others AWS
# KMS permissions not specified in this policy" (KMS developer guide, key-policy-default; F8).
# CreateGrant is not among them; the guardrail policy keeps PutKeyPolicy from everyone else.
_ADMIN_ACTIONS = ("CancelKeyDeletion", "CreateAlias", "DeleteAlias", "DescribeKey", "DisableKey",
                  "DisableKeyRotation", "EnableKey", "EnableKeyRotation", "GetKeyPolicy",
                  "GetKeyRotationStatus", "ListAliases", "ListGrants", "ListKeyPolicies",
                  "ListKeyRotations", "ListResourceTags", "PutKeyPolicy", "RetireGrant", "RevokeGrant",
                  "RotateKeyOnDemand", "ScheduleKeyDeletion", "TagResource", "UntagResource",
                  "UpdateAlias", "UpdateKeyDescription")
USE_ACTIONS = ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey*", "ReEncrypt*")
# Roles that encrypt or decrypt with the key. The CloudFormation execution role does not:
# the pipeline role reads the template out of the artifact and hands it to CloudFormation.
KEY_USERS = ("pipeline", "sync", "sync-pipeline")
# kms:ViaService of a call S3 makes to KMS on someone's behalf.
S3_IN_THIS_REGION = Sub("s3.${AWS::Region}.amazonaws.com")
# Log groups changegate creates are encrypted with the key: the sync's logs hold commit subjects and
# author names (checkov CKV_AWS_158, Control Tower CT.CLOUDWATCH.PR.3). CloudWatch Logs encrypts as
# the regional service principal, limited by the encryption context to those log groups:
# {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:region:account-id:log-group:log-group-name"}
# (CloudWatch Logs user guide, encrypt-log-data-kms). The guide matches it with ArnLike; an
# encryption context key is a String in KMS's condition keys, so StringLike matches the same values
# without a type mismatch (parliament reports one). The guide's "kms:Describe*" is left out: no
# Describe call carries an encryption context, so under this condition it could never be allowed.
LOGS_ACTIONS = ("Decrypt*", "Encrypt*", "GenerateDataKey*", "ReEncrypt*")


def changegate_log_groups(project: str) -> list[Sub]:
    """Every log group changegate creates: the sync's and the pipeline function's (by prefix)."""
    return [Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}")
            for name in (naming.sync_log_group_name(project), f"/aws/lambda/{project}-changegate-*")]


def artifact_key(config: PipelinesConfig) -> tuple[Key, Alias]:
    roles = arns.project_roles(config.project)
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(Sid="KeyAdministrationByTheAccount", Effect=Allow,
                      Principal=Principal("AWS", arns.account_root()),
                      Action=[KmsAction(a) for a in _ADMIN_ACTIONS], Resource=["*"]),
            # Principals are matched by ARN in a condition, not named as principals: KMS
            # rejects a policy naming a role that does not exist yet, and the roles are
            # created after the key (their policies name it).
            Statement(Sid="KeyUseByChangegateRoles", Effect=Allow,
                      Principal=Principal("AWS", arns.account_root()),
                      Action=[KmsAction(a) for a in USE_ACTIONS], Resource=["*"],
                      Condition=Condition(ArnLike(
                          "aws:PrincipalArn", [arns.role(roles[r]) for r in KEY_USERS]))),
            # The execution role reads the content the sync packaged (nested templates, code) when
            # CloudFormation and Lambda fetch it from the source bucket: decrypt only, only via S3.
            # With BucketKeyEnabled the encryption context is the bucket, not the object, so the
            # role's own policy narrows it to the assets (generator/bootstrap/iam.py, ReadPackagedContent).
            Statement(Sid="ExecutionRoleReadsPackagedContent", Effect=Allow,
                      Principal=Principal("AWS", arns.account_root()),
                      Action=[KmsAction("Decrypt")], Resource=["*"],
                      Condition=Condition([
                          ArnLike("aws:PrincipalArn", arns.role(roles["cloudformation"])),
                          StringEquals("kms:ViaService", S3_IN_THIS_REGION)])),
            Statement(Sid="ChangegateLogGroups", Effect=Allow,
                      Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                      Action=[KmsAction(a) for a in LOGS_ACTIONS], Resource=["*"],
                      Condition=Condition(StringLike("kms:EncryptionContext:aws:logs:arn",
                                                  changegate_log_groups(config.project)))),
            # Grants only for AWS resources or by AWS services: nobody grants themselves Decrypt
            # on the stacks' sources and artifacts (F8; the form AWS Control Tower's CT.KMS.PR.3
            # requires: both keys "false" under BoolIfExists, principal "*", resource "*").
            Statement(Sid="GrantsOnlyForAwsResources", Effect=Deny, Principal=Principal("AWS", "*"),
                      Action=[KmsAction("CreateGrant")], Resource=["*"],
                      Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false",
                                                        "aws:PrincipalIsAWSService": "false"}))),
        ],
    )
    key = Key(logical_ids.ARTIFACT_KEY,
              Description=Sub(f"changegate {config.project}: pipeline artifacts, stack sources "
                              "and approval notifications (stack ${AWS::StackName})"),
              EnableKeyRotation=True, KeyPolicy=policy,
              # Kept when the stack goes (it decrypts the retained buckets' objects), but removed
              # when the create that made it rolls back (F7, see buckets.py).
              DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy=Retain)
    alias = Alias(logical_ids.ARTIFACT_KEY_ALIAS, AliasName=naming.artifact_key_alias(config.project),
                  TargetKeyId=GetAtt(key, "Arn"))
    return key, alias
