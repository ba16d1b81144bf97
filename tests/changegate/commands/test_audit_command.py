"""``changegate audit`` on a year-like history of one stack (issue 11, item 7).

CodePipeline through Stubber in botocore's shapes (moto has no ListActionExecutions and its
executions "succeed" instantly), the source bucket through moto S3: each execution's object version
is a real version with the metadata the sync wrote (or none), and the audit records are real objects
the recorder's own code (review/record.py build_record, write_record) wrote there from the same
CodePipeline answers. Stubber fails the test on any call not listed here, in this order: GetPipeline
(where the records are), every page of ListPipelineExecutions, then, for each execution without a
record only, ListActionExecutions and GetPipelineExecution.
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber
from cg_stubs import (
    ACCOUNT,
    ARTIFACT_BUCKET,
    EMPTY_ZIP_SHA256,
    NOW,
    SOURCE_BUCKET,
    SYNC_ARN,
    execution,
    uuid_for,
)
from pipeline_records import Records

from changegate.commands.audit import parse_since
from generator.naming import (
    APPROVE_ACTION,
    CHANGE_STAGE,
    PLAN_ACTION,
    SOURCE_ACTION_NAME,
    SOURCE_STAGE,
)
from review import record

PIPELINE = STACK = "acme-network"
KEY = "stacks/network.zip"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Approvers/alice@example.com"
BOB = f"arn:aws:sts::{ACCOUNT}:assumed-role/Approvers/bob@example.com"
MALLORY = f"arn:aws:sts::{ACCOUNT}:assumed-role/PowerUser/mallory"
FORGED = "1111111111111111111111111111111111111111"


def commit_of(n: int) -> str:
    return f"{n:x}" * 40 if n < 16 else "c" * 40


def started(n: int):
    return NOW - timedelta(days=20 - n)


RECORDS = Records(pipeline=PIPELINE, stack=STACK, key=KEY, source_bucket=SOURCE_BUCKET,
                  artifact_bucket=ARTIFACT_BUCKET, sync_arn=SYNC_ARN, started=started)
detail, source, plan, review = RECORDS.detail, RECORDS.source, RECORDS.plan, RECORDS.review
approval, execute, summary = RECORDS.approval, RECORDS.execute, RECORDS.summary


def put(stubs, metadata):
    return stubs.s3.put_object(Bucket=SOURCE_BUCKET, Key=KEY, Body=b"PK\x05\x06" + bytes(18),
                               Metadata=metadata)["VersionId"]


def by_sync(stubs, n):
    return put(stubs, {"changegate-sha256": EMPTY_ZIP_SHA256, "changegate-commit": commit_of(n)})


def stub_history(stubs, *, since_page_only=False, before=None):
    """Nine executions, newest first: one of every way a change ends, and two nobody should trust.

    ``before`` stubs what the audit calls before ListPipelineExecutions (GetPipeline)."""
    v = {n: by_sync(stubs, n) for n in (5, 6, 7, 8, 9, 10, 11, 12)}
    v[4] = put(stubs, {"uploaded-by": "console"})  # an object the sync did not write
    manual = {"triggerType": "StartPipelineExecution", "triggerDetail": MALLORY}
    summaries = [
        summary(12, "InProgress", v[12]),
        summary(11, "Succeeded", v[11]),
        summary(10, "Failed", v[10]),
        summary(9, "Stopped", v[9], stop_reason="No changes: stack acme-network already matches this "
                                                 "source; the empty change set was deleted and no approval "
                                                 "requested"),
        summary(8, "Stopped", v[8], stop_reason="wrong commit"),
        summary(7, "Failed", v[7]),
        summary(6, "Succeeded", v[6], trigger={"triggerType": "CreatePipeline",
                                               "triggerDetail": f"arn:aws:iam::{ACCOUNT}:role/acme-cfn"}),
        summary(5, "Succeeded", v[5], trigger=manual),  # an older version started by hand: a rollback
        summary(4, "Failed", v[4], trigger=manual),
    ]
    details = {
        12: [source(12, v[12]), plan(12), review(12, "+0 ~1 -0; low", "low"), approval(12, "InProgress")],
        11: [source(11, v[11]), plan(11), review(11, "+1 ~2 -0; REPLACES Vpc; high"),
             approval(11, "Succeeded", ALICE, "CIDR change agreed in CHG-42"), execute(11)],
        10: [source(10, v[10]), plan(10), approval(10, "Failed", BOB, "replaces the database: not today")],
        9: [source(9, v[9]), plan(9), review(9, "no changes", "none")],
        8: [source(8, v[8]), plan(8)],
        7: [source(7, v[7]), plan(7), approval(7, "Succeeded", ALICE, "ok"),
            execute(7, "Failed", "Resource handler returned message: \"The CIDR '10.0.0.0/8' is invalid\"")],
        6: [source(6, v[6])],
        5: [source(5, v[5]), plan(5), approval(5, "Succeeded", BOB, "[forced past origin checks] rollback"),
            execute(5)],
        4: [source(4, v[4]), plan(4, status="Failed")],
    }
    if before is not None:
        before(stubs)
    stubs.cp.add_response("list_pipeline_executions",
                          {"pipelineExecutionSummaries": summaries[:5], "nextToken": "page-2"},
                          {"pipelineName": PIPELINE})
    if since_page_only:
        return v, summaries[:5], details
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": summaries[5:]},
                          {"pipelineName": PIPELINE, "nextToken": "page-2"})
    return v, summaries, details


def number(summary) -> int:
    return int(summary["pipelineExecutionId"][:8], 16)


def get_execution(s):
    n = number(s)
    commit = FORGED if n == 5 else ("unknown" if n == 6 else commit_of(n))
    response = execution(PIPELINE, n, commit=commit, trigger=s["trigger"])
    response["pipelineExecution"]["status"] = s["status"]
    return response


def stub_pipeline(stubs):
    """GetPipeline: the audit finds the source bucket (and so the records) where the Source action reads."""
    stubs.cp.add_response("get_pipeline", {"pipeline": {
        "name": PIPELINE, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/acme-changegate-pipeline", "version": 3,
        "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": ARTIFACT_BUCKET},
        "stages": [{"name": SOURCE_STAGE, "actions": [{
            "name": SOURCE_ACTION_NAME, "runOrder": 1,
            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"S3Bucket": SOURCE_BUCKET, "S3ObjectKey": KEY, "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "SourceArtifact"}]}]},
            {"name": CHANGE_STAGE, "actions": [{
                "name": PLAN_ACTION, "runOrder": 1,
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation",
                                 "version": "1"},
                "configuration": {"ActionMode": "CHANGE_SET_REPLACE", "StackName": STACK},
                "inputArtifacts": [{"name": "SourceArtifact"}]}]}]}},
        {"name": PIPELINE})


def stub_actions_and_executions(stubs, summaries, details):
    """What the audit reads for each execution without a record: its action executions, then itself."""
    for s in summaries:
        n = number(s)
        stubs.cp.add_response("list_action_executions", {"actionExecutionDetails": details[n]},
                              {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": uuid_for(n)}})
        stubs.cp.add_response("get_pipeline_execution", get_execution(s),
                              {"pipelineName": PIPELINE, "pipelineExecutionId": uuid_for(n)})


def write_records(stubs, summaries, details, numbers):
    """The recorder's code writes the records of these executions, from the same CodePipeline answers."""
    recorder = boto3.client("codepipeline", region_name="us-east-1")
    by_number = {number(s): s for s in summaries}
    with Stubber(recorder) as stubber:
        for n in numbers:
            s = by_number[n]
            stubber.add_response("get_pipeline_execution", get_execution(s),
                                 {"pipelineName": PIPELINE, "pipelineExecutionId": uuid_for(n)})
            stubber.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": summaries},
                                 {"pipelineName": PIPELINE, "maxResults": 100})
            stubber.add_response("list_action_executions", {"actionExecutionDetails": details[n]},
                                 {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": uuid_for(n)}})
            built = record.build_record(recorder, pipeline=PIPELINE, execution_id=uuid_for(n),
                                        steps_role="acme-changegate-steps", now=NOW)
            record.write_record(stubs.s3, bucket=SOURCE_BUCKET, record=built)
        stubber.assert_no_pending_responses()


def run_json(stubs, repo, run, *args):
    result = run(["audit", "network", "--root", str(repo), "--format", "json", *args], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    return json.loads(result.stdout)


def audit_json(stubs, repo, run, *args):
    v, summaries, details = stub_history(stubs, before=stub_pipeline)
    stub_actions_and_executions(stubs, summaries, details)
    report = run_json(stubs, repo, run, *args)
    return v, {r["execution_id"]: r for r in report["executions"]}


def test_audit_answers_which_commit_version_change_set_and_who_approved_when(stubs, repo, run):
    v, records = audit_json(stubs, repo, run)
    assert list(records) == [uuid_for(n) for n in (12, 11, 10, 9, 8, 7, 6, 5, 4)]  # every page, newest first
    done = records[uuid_for(11)]
    assert done["outcome"] == "executed" and done["trusted"] is True
    assert done["commit"] == commit_of(11) and done["origin"]["provenance"]["commit"] == "object metadata"
    assert done["object"] == {"bucket": SOURCE_BUCKET, "key": KEY, "version": v[11]}
    assert done["change_set"] == {"stack": STACK, "name": f"acme-{uuid_for(11)}", "id": None}
    assert (done["source"], done["record_key"]) == ("pipeline history, no audit record", None)
    assert done["decisions"] == [{"action": APPROVE_ACTION, "verdict": "approved", "by": ALICE,
                                  "at": (started(11) + timedelta(minutes=4)).isoformat(),
                                  "comment": "CIDR change agreed in CHG-42"}]
    assert done["review"] == {"Summary": "+1 ~2 -0; REPLACES Vpc; high", "RiskTier": "high"}


def test_audit_names_how_each_execution_ended(stubs, repo, run):
    _, records = audit_json(stubs, repo, run)
    outcomes = {int(k[:8], 16): (r["outcome"], r["outcome_detail"]) for k, r in records.items()}
    assert outcomes[12] == ("in progress", "at Change/Approve")
    assert outcomes[10] == ("rejected", f"by {BOB}")
    assert outcomes[9][0] == "no changes" and outcomes[9][1].startswith("No changes: stack acme-network")
    assert outcomes[8] == ("stopped", "wrong commit")
    assert outcomes[7] == ("failed", "at Change/ExecuteChangeSet: Resource handler returned message: "
                                     "\"The CIDR '10.0.0.0/8' is invalid\"")
    assert outcomes[6] == ("skipped", "the Change stage was skipped: the run was not started by the sync")
    assert outcomes[4] == ("failed", "at Change/CreateChangeSet")
    rejected = records[uuid_for(10)]["decisions"][0]
    assert (rejected["verdict"], rejected["by"], rejected["comment"]) == (
        "rejected", BOB, "replaces the database: not today")
    assert records[uuid_for(12)]["decisions"][0]["verdict"] == "pending"
    assert records[uuid_for(12)]["ended"] is None


def test_audit_flags_runs_the_sync_did_not_start_and_never_shows_forged_commits_as_true(stubs, repo, run):
    _, records = audit_json(stubs, repo, run)
    rollback = records[uuid_for(5)]
    assert rollback["trusted"] is False
    assert rollback["commit"] == commit_of(5)  # what the sync wrote on that version, not FORGED
    assert rollback["origin"]["variables"]["CommitId"] == FORGED
    assert any(p.startswith(f"not started by the sync: trigger StartPipelineExecution by {MALLORY}")
               for p in rollback["origin"]["problems"])
    assert any(p.startswith(f"pipeline variable CommitId says '{FORGED}'")
               for p in rollback["origin"]["problems"])
    foreign = records[uuid_for(4)]
    assert foreign["trusted"] is False
    assert foreign["origin"]["provenance"]["commit"] == "pipeline variables, UNTRUSTED"
    assert any("carries no changegate-commit metadata" in p for p in foreign["origin"]["problems"])
    skipped = records[uuid_for(6)]  # the run on pipeline creation read the version the sync wrote last
    assert skipped["trusted"] is False and skipped["change_set"] is None and skipped["decisions"] == []
    assert skipped["commit"] == commit_of(6) and skipped["origin"]["variables"]["CommitId"] == "unknown"
    # the declared default "unknown" means nobody set the variable: not a forgery, only "not the sync"
    assert len(skipped["origin"]["problems"]) == 1
    assert skipped["origin"]["problems"][0].startswith("not started by the sync: trigger CreatePipeline")
    assert all(records[uuid_for(n)]["trusted"] for n in (7, 8, 9, 10, 11, 12))


def test_audit_text_one_block_per_execution(stubs, repo, run):
    v, summaries, details = stub_history(stubs, before=stub_pipeline)
    stub_actions_and_executions(stubs, summaries, details)
    result = run(["audit", "acme-network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.exit_code == 0, result.error
    blocks = result.stdout.strip().split("\n\n")
    assert blocks[0] == ("acme-network: 9 executions, newest first (0 from audit records; CodePipeline keeps "
                         "12 months of execution history; audit records are kept with the bucket)")
    assert len(blocks) == 10
    executed = blocks[2].splitlines()
    assert executed[0] == f"Execution {uuid_for(11)}  EXECUTED"
    assert executed[1:] == [
        f"  started     {(started(11)).strftime('%Y-%m-%d %H:%MZ')}, ended "
        f"{(started(11) + timedelta(minutes=45)).strftime('%Y-%m-%d %H:%MZ')}",
        f"  commit      {commit_of(11)} by Ada Lovelace: Widen the VPC CIDR",
        f"  object      s3://{SOURCE_BUCKET}/{KEY} version {v[11]}",
        "  origin      commit from object metadata; author, subject from pipeline variables set by the sync; "
        "started by the sync",
        f"  change set  acme-{uuid_for(11)} on stack {STACK}",
        "  review      high risk: +1 ~2 -0; REPLACES Vpc; high",
        f"  approve     approved by {ALICE} at "
        f"{(started(11) + timedelta(minutes=4)).strftime('%Y-%m-%d %H:%MZ')}: CIDR change agreed in CHG-42",
        "  outcome     executed",
        "  from        pipeline history, no audit record",
    ]
    rollback = blocks[8].splitlines()
    assert rollback[0] == f"Execution {uuid_for(5)}  EXECUTED"
    assert "  WARNING: the origin of this change cannot be trusted:" in rollback
    assert rollback[-1].startswith(f"    - pipeline variable CommitId says '{FORGED}'")


def test_since_stops_reading_pages_before_it(stubs, repo, run):
    """--since 2026-11-12: the first page reaches back past it, so the second page is never asked for."""
    _, summaries, details = stub_history(stubs, since_page_only=True, before=stub_pipeline)
    kept = [s for s in summaries if s["startTime"] >= parse_since("2026-11-12")]
    assert [int(s["pipelineExecutionId"][:8], 16) for s in kept] == [12, 11, 10]
    stub_actions_and_executions(stubs, kept, details)
    report = run_json(stubs, repo, run, "--since", "2026-11-12")
    assert [r["execution_id"] for r in report["executions"]] == [uuid_for(n) for n in (12, 11, 10)]


def test_no_history_and_a_bad_date(stubs, repo, run):
    stub_pipeline(stubs)
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": []},
                          {"pipelineName": PIPELINE})
    result = run(["audit", "network", "--root", str(repo)], aws=stubs.aws)
    stubs.verify()
    assert result.stdout.strip() == ("acme-network: 0 executions, newest first (0 from audit records; "
                                     "CodePipeline keeps 12 months of execution history; audit records are "
                                     "kept with the bucket)")
    with pytest.raises(Exception, match="is not a date: write 2026-11-01 or 2026-11-01T09:00Z"):
        run(["audit", "network", "--root", str(repo), "--since", "last week"], aws=stubs.aws)


# ---- the audit records ----

def test_an_execution_reads_the_same_from_its_record_as_from_the_history(stubs, repo, run) -> None:
    """The recorder and the audit share review/history.py: the record of an execution says what the
    history says, and with a record the audit asks CodePipeline nothing about that execution."""
    _, summaries, details = stub_history(stubs, before=stub_pipeline)
    stub_actions_and_executions(stubs, summaries, details)
    from_history = {r["execution_id"]: r for r in run_json(stubs, repo, run)["executions"]}
    finished = list(range(4, 12))
    write_records(stubs, summaries, details, finished)
    stub_pipeline(stubs)
    stubs.cp.add_response("list_pipeline_executions",
                          {"pipelineExecutionSummaries": summaries[:5], "nextToken": "page-2"},
                          {"pipelineName": PIPELINE})
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": summaries[5:]},
                          {"pipelineName": PIPELINE, "nextToken": "page-2"})
    stub_actions_and_executions(stubs, [s for s in summaries if number(s) == 12], details)  # in progress
    report = run_json(stubs, repo, run)
    from_records = {r["execution_id"]: r for r in report["executions"]}
    assert list(from_records) == list(from_history)
    for n in finished:
        entry = from_records[uuid_for(n)]
        assert entry["source"] == "audit record" and entry["record_key"] == (
            f"audit/{PIPELINE}/{started(n):%Y%m%dT%H%M%SZ}-{uuid_for(n)}.json")
        same = {k: v for k, v in entry.items() if k not in ("source", "record_key", "attempt")}
        assert same == {k: v for k, v in from_history[uuid_for(n)].items()
                        if k not in ("source", "record_key", "attempt")}, n
    assert from_records[uuid_for(12)]["source"] == "pipeline history, no audit record"
    assert report["unreadable_records"] == [] and report["bucket"] == SOURCE_BUCKET


def stub_pipeline_gone(stubs) -> None:
    """The stack's folder and pipeline were removed: the bootstrap stack still names the bucket."""
    stubs.cp.add_client_error("get_pipeline", service_error_code="PipelineNotFoundException",
                              service_message=f"Account '{ACCOUNT}' does not have a pipeline with name "
                                              f"'{PIPELINE}'", http_status_code=400,
                              expected_params={"name": PIPELINE})
    stubs.cfn.add_response("describe_stacks", {"Stacks": [{
        "StackName": "acme-pipelines", "CreationTime": NOW - timedelta(days=400),
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "SourceBucketName", "OutputValue": SOURCE_BUCKET}]}]},
        {"StackName": "acme-pipelines"})


def records_only(stubs):
    """Records written for every finished execution of the history (the recorder ran all along)."""
    v, summaries, details = stub_history(stubs)
    stubs.cp.deactivate()  # stub_history queued ListPipelineExecutions pages on the operator's client:
    stubs.cp = Stubber(stubs.codepipeline)  # a pipeline that is gone has no history: start afresh
    stubs.cp.activate()
    write_records(stubs, summaries, details, range(4, 12))
    return v, summaries, details


def test_the_records_outlive_the_pipeline_and_its_history(stubs, repo, run) -> None:
    records_only(stubs)
    stub_pipeline_gone(stubs)
    report = run_json(stubs, repo, run)
    assert report["notes"] == [f"pipeline {PIPELINE} no longer exists: only its audit records are left"]
    entries = {int(r["execution_id"][:8], 16): r for r in report["executions"]}
    assert list(entries) == [11, 10, 9, 8, 7, 6, 5, 4]
    done = entries[11]
    assert (done["outcome"], done["commit"], done["trusted"]) == ("executed", commit_of(11), True)
    assert done["decisions"][0]["by"] == ALICE and done["review"]["RiskTier"] == "high"
    assert entries[5]["trusted"] is False  # the origin checks still run on a record
    assert entries[10]["outcome"] == "rejected" and entries[9]["outcome"] == "no changes"


def test_since_lists_records_from_that_moment_on(stubs, repo, run) -> None:
    records_only(stubs)
    stub_pipeline_gone(stubs)
    report = run_json(stubs, repo, run, "--since", "2026-11-12T12:00Z")  # execution 10 started then
    assert [int(r["execution_id"][:8], 16) for r in report["executions"]] == [11, 10]


def test_a_record_that_is_not_one_is_named_with_what_is_wrong(stubs, repo, run) -> None:
    records_only(stubs)
    prefix = f"audit/{PIPELINE}/"
    good = json.loads(stubs.s3.get_object(
        Bucket=SOURCE_BUCKET, Key=f"{prefix}{started(11):%Y%m%dT%H%M%SZ}-{uuid_for(11)}.json")["Body"].read())
    bad = {
        f"{prefix}20261101T000000Z-{uuid_for(30)}.json": b"{not json",
        f"{prefix}20261101T000001Z-{uuid_for(31)}.json": json.dumps({**good, "schema": 2}).encode(),
        f"{prefix}20261101T000002Z-{uuid_for(32)}.json": json.dumps(good).encode(),  # another execution's
        f"{prefix}notes.txt": b"hello",
    }
    for key, body in bad.items():
        stubs.s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)
    stub_pipeline_gone(stubs)
    report = run_json(stubs, repo, run)
    problems = {b["record_key"].removeprefix(prefix): b["problem"] for b in report["unreadable_records"]}
    assert problems[f"20261101T000000Z-{uuid_for(30)}.json"].startswith("not valid JSON")
    assert problems[f"20261101T000001Z-{uuid_for(31)}.json"] == (
        "schema 2, this changegate reads schema 1: upgrade changegate to read it")
    assert problems[f"20261101T000002Z-{uuid_for(32)}.json"] == (
        f"names pipeline '{PIPELINE}' execution '{uuid_for(11)}', but its key names pipeline '{PIPELINE}' "
        f"execution '{uuid_for(32)}'")
    assert problems["notes.txt"].startswith("not an audit record's name")
    assert len(report["executions"]) == 8  # the readable ones are all there
    stub_pipeline_gone(stubs)
    text = run(["audit", "network", "--root", str(repo)], aws=stubs.aws)
    assert text.exit_code == 0
    block = text.stdout.strip().split("\n\n")[-1].splitlines()
    assert block[0] == (f"UNREADABLE AUDIT RECORDS in s3://{SOURCE_BUCKET} (4): each is kept as it is; its "
                        "execution is shown from CodePipeline's history when that still has it")
    assert f"  {prefix}notes.txt: not an audit record's name" in "\n".join(block)


def test_the_latest_attempt_of_a_retried_execution_and_a_running_retry(stubs, repo, run) -> None:
    """A failed execution retried (RetryStageExecution) ends again: its second record wins; while the
    retry runs, CodePipeline's history (in progress) wins over the first record."""
    _, summaries, details = records_only(stubs)
    first_key = f"audit/{PIPELINE}/{started(7):%Y%m%dT%H%M%SZ}-{uuid_for(7)}.json"
    first = json.loads(stubs.s3.get_object(Bucket=SOURCE_BUCKET, Key=first_key)["Body"].read())
    retried = {**first, "attempt": 2, "outcome": "executed", "outcome_detail": None, "status": "Succeeded"}
    key = record.write_record(stubs.s3, bucket=SOURCE_BUCKET, record=retried)
    assert key.endswith(f"{uuid_for(7)}.attempt2.json")
    stub_pipeline_gone(stubs)
    entries = {int(r["execution_id"][:8], 16): r for r in run_json(stubs, repo, run)["executions"]}
    assert (entries[7]["outcome"], entries[7]["attempt"], entries[7]["record_key"]) == ("executed", 2, key)
    # the retry of execution 7 runs again: history says so, and is shown instead of the records
    stub_pipeline(stubs)
    running = [s for s in summaries if number(s) != 7]
    again = {k: v for k, v in summaries[5].items() if k != "lastUpdateTime"}
    assert number(again) == 7
    running.insert(5, {**again, "status": "InProgress"})
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": running},
                          {"pipelineName": PIPELINE})
    stub_actions_and_executions(stubs, [s for s in running if number(s) in (12, 7)], details)
    entries = {int(r["execution_id"][:8], 16): r for r in run_json(stubs, repo, run)["executions"]}
    assert entries[7]["source"] == "pipeline history, no audit record"
    assert entries[7]["outcome"] == "in progress" and entries[11]["source"] == "audit record"


def test_many_executions_without_a_record_read_all_action_executions_at_once(stubs, repo, run) -> None:
    """Past PER_EXECUTION_LIMIT executions without a record (a history older than the recorder), one
    ListActionExecutions for the whole pipeline, every page, instead of one per execution."""
    from changegate.audit import PER_EXECUTION_LIMIT

    numbers = range(1, PER_EXECUTION_LIMIT + 3)
    versions = {n: by_sync(stubs, n) for n in numbers}
    summaries = [summary(n, "Succeeded", versions[n]) for n in sorted(numbers, reverse=True)]
    details = {n: [source(n, versions[n]), plan(n), approval(n, "Succeeded", ALICE, f"ok {n}"), execute(n)]
               for n in numbers}
    stub_pipeline(stubs)
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": summaries},
                          {"pipelineName": PIPELINE})
    every = [d for s in summaries for d in details[number(s)]]
    stubs.cp.add_response("list_action_executions", {"actionExecutionDetails": every[:20], "nextToken": "a2"},
                          {"pipelineName": PIPELINE})
    stubs.cp.add_response("list_action_executions", {"actionExecutionDetails": every[20:]},
                          {"pipelineName": PIPELINE, "nextToken": "a2"})
    for s in summaries:
        stubs.cp.add_response("get_pipeline_execution", get_execution(s),
                              {"pipelineName": PIPELINE, "pipelineExecutionId": s["pipelineExecutionId"]})
    report = run_json(stubs, repo, run)
    assert [int(e["execution_id"][:8], 16) for e in report["executions"]] == sorted(numbers, reverse=True)
    for entry in report["executions"]:
        n = int(entry["execution_id"][:8], 16)
        assert (entry["outcome"], entry["commit"], entry["object"]["version"]) == (
            "executed", commit_of(n), versions[n])
        assert entry["decisions"][0]["comment"] == f"ok {n}"  # each execution's own, from the one listing


def test_without_the_right_to_read_records_the_history_answers_and_says_so(stubs, repo, run) -> None:
    """An approver whose policy predates the records (the bootstrap stack not redeployed yet)."""
    from changegate.aws import Aws

    denied_s3 = boto3.client("s3", region_name="us-east-1")
    v, summaries, details = stub_history(stubs, since_page_only=True, before=stub_pipeline)
    running = [s for s in summaries if number(s) == 12]
    stubs.cp.deactivate()
    stubs.cp = Stubber(stubs.codepipeline)
    stubs.cp.activate()
    stub_pipeline(stubs)
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": running},
                          {"pipelineName": PIPELINE})
    stub_actions_and_executions(stubs, running, details)
    with Stubber(denied_s3) as s3_stub:
        s3_stub.add_client_error("list_objects_v2", service_error_code="AccessDenied",
                                 service_message="Access Denied", http_status_code=403,
                                 expected_params={"Bucket": SOURCE_BUCKET, "Prefix": f"audit/{PIPELINE}/"})
        s3_stub.add_response("head_object", {"Metadata": {"changegate-commit": commit_of(12)}},
                             {"Bucket": SOURCE_BUCKET, "Key": KEY, "VersionId": v[12]})
        aws = Aws(None, clients={"codepipeline": stubs.codepipeline, "cloudformation": stubs.cloudformation,
                                 "s3": denied_s3}, account=ACCOUNT, arn=ALICE)
        result = run(["audit", "network", "--root", str(repo), "--format", "json"], aws=aws)
        s3_stub.assert_no_pending_responses()
    stubs.verify()
    assert result.exit_code == 0, result.error
    report = json.loads(result.stdout)
    [note] = report["notes"]
    assert note.startswith("audit records not read, shown from CodePipeline's history only: AccessDenied: "
                           f"s3:ListBucket on s3://{SOURCE_BUCKET}/audit/{PIPELINE}/")
    assert [e["source"] for e in report["executions"]] == ["pipeline history, no audit record"]
