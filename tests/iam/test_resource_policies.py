"""The bucket, topic and key policies hold the gate on their own, without the guardrail (issue 10).

Each test evaluates the generated template's resource policies (tests/iam/policy_eval.py) for a
PowerUser of the same account who is none of changegate's principals, and for changegate's own
roles; each shows the verdict flips when the statement it guards is taken out.
"""

from __future__ import annotations

import json
from pathlib import Path

from policy_eval import Decision, Request, evaluate, service
from roles_setup import Setup, allowed, intruder_world, verdict

from generator import naming
from generator.bootstrap.scanner_suppressions import scanner_suppressions
from generator.bootstrap.template import render_template
from generator.contract.config import load_config

KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_HEADER = "s3:x-amz-server-side-encryption"


def test_replication_and_acl_writes_of_sources_are_the_syncs_only(s: Setup) -> None:
    world, intruder = intruder_world(s)
    archive = s.source_object(naming.source_object_key(s.folder))
    for action in ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:PutObjectAcl",
                   "s3:ObjectOwnerOverrideToBucketOwner"):
        assert verdict(world, intruder, action, archive) is Decision.EXPLICIT_DENY, action
    opened = world.without_resource_statement(archive, "Deny", "s3:ReplicateObject")
    assert allowed(opened, intruder, "s3:ReplicateObject", archive)


def test_sources_are_encrypted_with_changegates_key_only(s: Setup) -> None:
    sync = s.principal("sync")
    archive = s.source_object(naming.source_object_key(s.folder))
    # No headers: the bucket's default encryption (the key) applies, and the sync may upload.
    assert allowed(s.world, sync, "s3:PutObject", archive)
    assert allowed(s.world, sync, "s3:PutObject", archive, **{SSE_HEADER: "aws:kms", KEY_HEADER: s.key})
    other_key = s.key.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert verdict(s.world, sync, "s3:PutObject", archive, {KEY_HEADER: other_key}) is Decision.EXPLICIT_DENY
    assert verdict(s.world, sync, "s3:PutObject", archive, {SSE_HEADER: "AES256"}) is Decision.EXPLICIT_DENY
    opened = s.world.without_resource_statement(archive, "Deny", "s3:PutObject")
    assert allowed(opened, sync, "s3:PutObject", archive, **{KEY_HEADER: other_key})


def test_only_the_pipelines_write_artifacts(s: Setup) -> None:
    world, intruder = intruder_world(s)
    artifact = s.artifact_object("acme-network/SourceArti/abc123")
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:ReplicateObject"):
        assert verdict(world, intruder, action, artifact) is Decision.EXPLICIT_DENY, action
    pipeline = s.principal("stack-pipelines")
    assert allowed(world, pipeline, "s3:PutObject", artifact)
    assert allowed(world, pipeline, "s3:PutObjectAcl", artifact)  # the GitHub source action (F3)
    aes = {SSE_HEADER: "AES256"}
    assert verdict(world, pipeline, "s3:PutObject", artifact, aes) is Decision.EXPLICIT_DENY
    # Reading stays IAM's business: the CodeBuild sync and the pipeline function read artifacts.
    assert verdict(world, intruder, "s3:GetObject", artifact) is Decision.ALLOW
    opened = world.without_resource_statement(artifact, "Deny", "s3:PutObject")
    assert allowed(opened, intruder, "s3:PutObject", artifact)


def test_key_policy_names_its_administrative_actions(template: dict) -> None:
    statements = template["Resources"]["ArtifactKey"]["Properties"]["KeyPolicy"]["Statement"]
    actions = [a for st in statements if st["Effect"] == "Allow" for a in st["Action"]]
    # "kms:Create*" includes CreateGrant, "kms:Put*" every future Put (F8): no wildcard but the
    # documented data-key families.
    assert [a for a in actions if a.endswith("*")] == [
        a for a in actions if a.split(":")[1] in {"GenerateDataKey*", "ReEncrypt*", "Decrypt*", "Encrypt*"}]
    assert "kms:CreateGrant" not in actions


def _logs_may_use_the_key(s: Setup, log_group: str) -> bool:
    """CloudWatch Logs (a service principal: no identity policy) encrypting for ``log_group``."""
    region, account = s.key.split(":")[3:5]
    arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group}"
    request = Request(service(f"logs.{region}.amazonaws.com"), "kms:GenerateDataKey", s.key,
                      {"kms:EncryptionContext:aws:logs:arn": arn})
    policy, _ = s.world.resource_policy(s.key)
    return evaluate(request, (), resource_policy=policy, key_policy=True).allowed


def test_log_groups_are_encrypted_and_logs_use_the_key_for_them_only(s: Setup, template: dict) -> None:
    assert template["Resources"]["SyncLogGroup"]["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": ["ArtifactKey", "Arn"]}
    assert _logs_may_use_the_key(s, naming.sync_log_group_name(s.project))
    assert _logs_may_use_the_key(s, f"/aws/lambda/{s.project}-changegate-steps")
    assert not _logs_may_use_the_key(s, "/aws/codebuild/someone-elses-project")
    assert not _logs_may_use_the_key(s, f"/aws/lambda/{s.project}-network-handler")


def test_every_scanner_suppression_has_a_reason_and_names_real_resources() -> None:
    root = Path(naming.__file__).resolve().parents[1]
    template = json.loads(render_template(root))
    accepted = scanner_suppressions(load_config(root))
    for tool, rules in accepted.items():
        for rule, entry in rules.items():
            assert len(entry["reason"]) > 40, (tool, rule)
            missing = set(entry.get("resources", [])) - set(template["Resources"])
            assert not missing, (tool, rule, missing)
