"""The ledger and the cleanup, against moto_server: what the live run records, it deletes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from cglive.ledger import KIND_ORDER, Entry, Ledger, cleanup, interruptible, shielded
from cglive.settings import ENV_ENDPOINT, ENV_PROFILE, ENV_REGION

STACK_TEMPLATE = json.dumps({
    "Resources": {
        "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }})


def _make_everything(clients, ledger: Ledger, project: str) -> dict[str, str]:
    """One of each kind the live run creates, each recorded before it is created."""
    s3, iam, sns, kms, logs, cfn = (clients(s) for s in ("s3", "iam", "sns", "kms", "logs", "cloudformation"))
    bucket = f"{project}-probe"
    ledger.will_create("bucket", bucket)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="source.zip", Body=body)
    s3.delete_object(Bucket=bucket, Key="source.zip")  # a delete marker too
    role = f"{project}-changegate-probe"
    ledger.will_create("role", role)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    managed = iam.create_policy(PolicyName=f"{project}-managed", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    iam.attach_role_policy(RoleName=role, PolicyArn=managed["Policy"]["Arn"])
    topic_arn = f"arn:aws:sns:eu-west-1:123456789012:{project}-topic"
    ledger.will_create("sns_topic", topic_arn)
    sns.create_topic(Name=f"{project}-topic")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    ledger.will_create("kms_key", key)
    group = f"/aws/codebuild/{project}-probe"
    ledger.will_create("log_group", group)
    logs.create_log_group(logGroupName=group)
    stack = f"{project}-pipelines"
    ledger.will_create("bootstrap_stack", stack, project=project)
    # moto has no UpdateTerminationProtection: the protected case is test_a_protected_stack_* (Stubber)
    cfn.create_stack(StackName=stack, TemplateBody=STACK_TEMPLATE)
    return {"bucket": bucket, "role": role, "topic": topic_arn, "key": key, "group": group, "stack": stack}


def _exists(clients, made: dict[str, str]) -> dict[str, bool]:
    s3, iam, sns, kms, logs, cfn = (clients(s) for s in ("s3", "iam", "sns", "kms", "logs", "cloudformation"))
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    stack = cfn.describe_stacks(StackName=made["stack"])["Stacks"][0] if any(
        s["StackName"] == made["stack"] and s["StackStatus"] != "DELETE_COMPLETE"
        for s in cfn.list_stacks()["StackSummaries"]) else None
    return {
        "bucket": made["bucket"] in buckets,
        "role": made["role"] in {r["RoleName"] for r in iam.list_roles()["Roles"]},
        "topic": made["topic"] in {t["TopicArn"] for t in sns.list_topics()["Topics"]},
        "key": kms.describe_key(KeyId=made["key"])["KeyMetadata"]["KeyState"] != "PendingDeletion",
        "group": bool(logs.describe_log_groups(logGroupNamePrefix=made["group"])["logGroups"]),
        "stack": stack is not None,
    }


def test_cleanup_deletes_every_kind_and_what_the_stack_retained(clients, settings, tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    made = _make_everything(clients, ledger, settings.project)
    retained = clients("cloudformation").describe_stack_resource(
        StackName=made["stack"], LogicalResourceId="Kept")["StackResourceDetail"]["PhysicalResourceId"]
    assert all(_exists(clients, made).values())

    result = cleanup(ledger, clients, sleep=lambda s: None, interval=0)

    assert result.ok, result.failed
    assert not any(_exists(clients, made).values()), _exists(clients, made)
    # the bucket the stack retained (DeletionPolicy Retain) was found and deleted after the stack
    assert retained not in {b["Name"] for b in clients("s3").list_buckets()["Buckets"]}
    assert ("bucket", retained) in {e.key for e in result.deleted}
    assert ledger.pending() == []
    # idempotent: a second run finds nothing to do
    assert cleanup(ledger, clients, sleep=lambda s: None, interval=0).deleted == []


def test_a_creation_cut_short_is_cleaned_up_as_already_gone(clients, tmp_path, settings):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    never = f"{settings.project}-never-made"
    names = {"sns_topic": f"arn:aws:sns:eu-west-1:123456789012:{never}",
             "log_group": f"/aws/codebuild/{never}",
             "kms_key": "0b6f4c4e-1111-4a5b-9c9d-000000000000"}
    for kind in KIND_ORDER:  # recorded, then the run died before the create call
        ledger.will_create(kind, names.get(kind, never))
    result = cleanup(ledger, clients, sleep=lambda s: None, interval=0)
    assert result.ok, result.failed
    assert len(result.deleted) == len(KIND_ORDER)
    assert ledger.pending() == []


def test_a_shared_bucket_loses_only_this_runs_objects(clients, settings, tmp_path):
    s3 = clients("s3")
    shared = f"{settings.project}-shared-staging"
    s3.create_bucket(Bucket=shared, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=shared, Key=f"bootstrap/{settings.project}-pipelines/a.json", Body=b"{}")
    s3.put_object(Bucket=shared, Key="bootstrap/otherproject-pipelines/b.json", Body=b"{}")
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.will_create("bucket", shared, keys_containing=settings.project)
    assert cleanup(ledger, clients).ok
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=shared).get("Contents", [])]
    assert keys == ["bootstrap/otherproject-pipelines/b.json"]


def test_pending_orders_by_kind_then_newest_first_and_survives_a_torn_line(tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.will_create("kms_key", "k")
    ledger.will_create("bucket", "b1")
    ledger.will_create("bootstrap_stack", "p-pipelines")
    ledger.will_create("managed_stack", "p-app")
    ledger.will_create("bucket", "b2")
    ledger.deleted(Entry("bucket", "b1"))
    with ledger.path.open("a") as handle:
        handle.write('{"op": "create", "kind": "role", "na')  # killed mid-write
    assert [e.key for e in ledger.pending()] == [
        ("managed_stack", "p-app"), ("bootstrap_stack", "p-pipelines"), ("bucket", "b2"), ("kms_key", "k")]


def test_an_unknown_kind_is_refused_before_anything_is_created(tmp_path):
    with pytest.raises(ValueError, match="unknown ledger kind 'lambda'"):
        Ledger(tmp_path / "l.jsonl").will_create("lambda", "x")


def test_sigterm_becomes_system_exit_so_finally_runs():
    ran = []
    with pytest.raises(SystemExit) as exc:
        try:
            with interruptible():
                os.kill(os.getpid(), signal.SIGTERM)
                signal.sigtimedwait([], 0) if hasattr(signal, "sigtimedwait") else None
                for _ in range(1000):  # the handler runs between bytecodes
                    pass
        finally:
            ran.append("cleanup")
    assert exc.value.code == 128 + signal.SIGTERM
    assert ran == ["cleanup"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_a_signal_during_cleanup_is_noted_not_obeyed():
    with shielded() as received:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
    assert received == [signal.SIGINT]


def test_cleanup_command_finishes_an_interrupted_run(moto_server, aws_env, clients, settings, tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    made = _make_everything(clients, ledger, settings.project)
    env = {**os.environ, ENV_ENDPOINT: moto_server, ENV_REGION: "eu-west-1", ENV_PROFILE: "",
           "PYTHONPATH": os.pathsep.join([str(p) for p in sys.path if p])}
    done = subprocess.run([sys.executable, "-m", "cglive", "--cleanup", str(ledger.path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0 left" in done.stdout
    assert not any(_exists(clients, made).values())


def test_a_protected_stack_is_unprotected_then_deleted_and_waited_for():
    """moto lacks UpdateTerminationProtection: botocore's Stubber, in the real shapes."""
    import boto3
    from botocore.stub import Stubber
    from cglive.ledger import delete_stack

    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/p-app/0f0e4a10-0000-0000-0000-0000000"
    when = "2026-12-02T05:00:00Z"
    described = {"StackId": stack_id, "StackName": "p-app", "CreationTime": when,
                 "StackStatus": "UPDATE_COMPLETE", "EnableTerminationProtection": True}
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [described]}, {"StackName": "p-app"})
        stub.add_response("update_termination_protection", {"StackId": stack_id},
                          {"StackName": "p-app", "EnableTerminationProtection": False})
        stub.add_response("delete_stack", {}, {"StackName": stack_id})
        stub.add_response("describe_stacks", {"Stacks": [{**described, "StackStatus": "DELETE_IN_PROGRESS"}]},
                          {"StackName": stack_id})
        stub.add_response("describe_stacks", {"Stacks": [{**described, "StackStatus": "DELETE_COMPLETE"}]},
                          {"StackName": stack_id})
        slept = []
        delete_stack(lambda service: cfn, Entry("managed_stack", "p-app"), sleep=slept.append,
                     clock=lambda: 0.0, timeout=60, interval=7)
        stub.assert_no_pending_responses()
    assert slept == [7]


def test_a_stack_that_fails_to_delete_is_reported_and_the_rest_goes_on(tmp_path):
    import boto3
    from botocore.stub import Stubber

    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/p-app/1"
    described = {"StackId": stack_id, "StackName": "p-app", "CreationTime": "2026-12-02T05:00:00Z",
                 "StackStatus": "CREATE_COMPLETE"}
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.will_create("managed_stack", "p-app")
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", {"Stacks": [described]}, {"StackName": "p-app"})
        stub.add_response("delete_stack", {}, {"StackName": stack_id})
        stub.add_response("describe_stacks", {"Stacks": [{**described, "StackStatus": "DELETE_FAILED"}]},
                          {"StackName": stack_id})
        result = cleanup(ledger, lambda service: cfn, sleep=lambda s: None, interval=0)
    assert not result.ok
    assert "DELETE_FAILED" in result.failed[0][1]
    assert [e.key for e in ledger.pending()] == [("managed_stack", "p-app")]  # a later --cleanup retries
