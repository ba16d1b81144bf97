"""The customer-managed KMS key that encrypts artifacts, the source bucket and the topic."""

from __future__ import annotations

from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement
from awacs.kms import Action as KmsAction
from troposphere import GetAtt, Retain, Sub
from troposphere.kms import Alias, Key

from generator import arns, logical_ids, naming
from generator.buckets import RETAIN_EXCEPT_ON_CREATE
from generator.config import PipelinesConfig

# Managing the key stays with the account (IAM decides who): without this statement nobody
# could ever change or delete the key again.
_ADMIN_ACTIONS = ("CancelKeyDeletion", "Create*", "Delete*", "Describe*", "Disable*", "Enable*",
                  "Get*", "List*", "Put*", "Revoke*", "ScheduleKeyDeletion", "TagResource",
                  "UntagResource", "Update*")
USE_ACTIONS = ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey*", "ReEncrypt*")
# Roles that encrypt or decrypt with the key. The CloudFormation execution role does not:
# the pipeline role reads the template out of the artifact and hands it to CloudFormation.
KEY_USERS = ("pipeline", "sync")


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
