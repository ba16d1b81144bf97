"""The judges (one per question), the report, and a run cut short: report written, cleanup done."""

from __future__ import annotations

import json

import pytest
from cglive import probes, run
from cglive.ledger import Ledger
from cglive.report import ERROR, FAIL, MANUAL, PASS, Result, write_report
from cglive.settings import ENV_PROFILE, ENV_PROJECT, ENV_REGION, LiveSettings, enabled, from_environment

from generator import naming


def test_every_question_of_section_2_has_a_judge_with_its_id_and_finding():
    assert [q[0] for q in probes.ALL] == [f"Q{i}" for i in range(1, 13)]
    assert all(q[1] and q[2].endswith("?") for q in probes.ALL)
    assert set(probes.EXPECTED) == {q[0] for q in probes.ALL}


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (
            probes.q1_empty_change_set(
                approval_waited=False, execution_status="Succeeded", plan_status="Succeeded"
            ),
            PASS,
        ),
        (
            probes.q1_empty_change_set(
                approval_waited=True, execution_status="Failed", plan_status="Succeeded"
            ),
            FAIL,
        ),
        (probes.q2_stack_policy(observed_policy={"Statement": []}, expected_policy={"Statement": []}), PASS),
        (probes.q2_stack_policy(observed_policy=None, expected_policy={"Statement": []}), FAIL),
        (probes.q3_source_account({"codepipeline": (True, "x"), "events+ssm": (True, "y")}), PASS),
        (probes.q3_source_account({"codepipeline": (True, "x"), "cloudformation": (False, "y")}), FAIL),
        (probes.q3_source_account({"codepipeline": (True, "x"), "codebuild": (None, "y")}), ERROR),
        (
            probes.q4_lambda_image(
                facts={"etc_pip_conf": "[global]\ntarget = /tmp/x\n"}, sync_status="SUCCEEDED"
            ),
            PASS,
        ),
        (
            probes.q4_lambda_image(
                facts={"dev_shm": False}, sync_status="FAILED", sync_failure="BUILD: FAILED"
            ),
            FAIL,
        ),
        (probes.q4_lambda_image(facts=None, sync_status=None), ERROR),
        (
            probes.q5_git_on_lambda(
                {"git_inside_work_tree": {"rc": 0, "out": "true"}, "git_shallow": {"out": "false"}}
            ),
            PASS,
        ),
        (
            probes.q5_git_on_lambda(
                {
                    "git_inside_work_tree": {"rc": 128, "out": "", "err": "dubious ownership"},
                    "git_shallow": {"out": ""},
                }
            ),
            FAIL,
        ),
        (probes.q6_absent_manifest(raw_code="404 NoSuchKey", read_manifest_error=None), PASS),
        (
            probes.q6_absent_manifest(raw_code="403 AccessDenied", read_manifest_error="AccessDenied: ..."),
            FAIL,
        ),
        (
            probes.q7_approval_text(
                approve_status="InProgress", resolved_custom_data="x" * probes.MAX_CUSTOM_DATA
            ),
            PASS,
        ),
        (
            probes.q7_approval_text(
                approve_status="InProgress", resolved_custom_data="x" * (probes.MAX_CUSTOM_DATA + 1)
            ),
            FAIL,
        ),
        (
            probes.q7_approval_text(
                approve_status="InProgress", resolved_custom_data="by #{variables.CommitAuthor}"
            ),
            FAIL,
        ),
        (probes.q7_approval_text(approve_status="Failed", resolved_custom_data="short"), FAIL),
        (probes.q9_connection_manual(project="cgliveabc", region="eu-west-1"), MANUAL),
        (probes.q10_big_template(template_bytes=60_000, plan_status="Succeeded"), PASS),
        (
            probes.q10_big_template(
                template_bytes=60_000, plan_status="Failed", error_details="Access denied"
            ),
            FAIL,
        ),
        (
            probes.q11_queued_executions(
                planned_while_first_waited=False, change_set_at_approval=True, second_status="Succeeded"
            ),
            PASS,
        ),
        (
            probes.q11_queued_executions(
                planned_while_first_waited=True, change_set_at_approval=False, second_status="Failed"
            ),
            FAIL,
        ),
        (probes.q12_encrypted_topic(approve_status="InProgress"), PASS),
        (probes.q12_encrypted_topic(approve_status="Failed", error_details="KMS.AccessDenied"), FAIL),
    ],
)
def test_each_judge_fails_when_aws_answers_otherwise(result, outcome):
    assert result.outcome == outcome, result


STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/cgliveabc-app/1b2c"
CS_ID = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/cgliveabc-e1/3d4e"


@pytest.mark.parametrize(
    ("url", "partition", "outcome"),
    [
        (
            "https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/changesets/changes?"
            "stackId=cgliveabc-app&changeSetId=cgliveabc-e1",
            "aws",
            PASS,
        ),
        (
            "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/changesets/changes?"
            f"stackId={STACK_ID.replace(':', '%3A').replace('/', '%2F')}&changeSetId={CS_ID}",
            "aws",
            PASS,
        ),
        (
            "https://console.aws.amazon.com/cloudformation/home#/stacks?stackId=cgliveabc-app&changeSetId=cgliveabc-e1",
            "aws-cn",
            FAIL,
        ),
        (
            "https://console.aws.amazon.com/cloudformation/home#/stacks/changesets/changes?stackId=cgliveabc-app"
            "&changeSetId=cgliveabc-#{codepipeline.PipelineExecutionId}",
            "aws",
            FAIL,
        ),
        (None, "aws", ERROR),
    ],
)
def test_q8_the_link_must_be_on_the_partitions_console_and_name_this_change_set(url, partition, outcome):
    result = probes.q8_console_link(
        url=url,
        partition=partition,
        stack_name="cgliveabc-app",
        stack_id=STACK_ID,
        change_set_name="cgliveabc-e1",
        change_set_id=CS_ID,
    )
    assert result.outcome == outcome, result


def test_the_report_has_one_line_per_question_in_both_forms(tmp_path):
    results = [probes.error(*q, probes.EXPECTED[q[0]], "a | pipe\nand a line break") for q in probes.ALL]
    results[8] = probes.q9_connection_manual(project="cgliveabc", region="eu-west-1")
    md, js = write_report(reversed(results), tmp_path, project="cgliveabc", region="eu-west-1")
    rows = [line for line in md.read_text().splitlines() if line.startswith("| Q")]
    assert [row.split(" | ")[0] for row in rows] == [f"| Q{i}" for i in range(1, 13)]
    assert all(row.count(" | ") == 5 for row in rows)  # the pipe in the text is escaped, one line each
    assert "0 pass, 0 fail, 1 manual, 11 error" in md.read_text()
    assert "### Q9 (manual)" in md.read_text()  # the manual steps are in the details
    data = json.loads(js.read_text())
    assert [r["id"] for r in data["results"]] == [f"Q{i}" for i in range(1, 13)]
    assert set(data["results"][0]) == {
        "id",
        "finding",
        "question",
        "expected",
        "observed",
        "outcome",
        "details",
    }


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome 'maybe'"):
        Result("Q1", "F5", "q?", "e", "o", "maybe")


def test_the_suite_is_on_only_with_profile_and_region_and_names_a_fresh_project(monkeypatch):
    assert not enabled({ENV_PROFILE: "sandbox"})
    assert not enabled({ENV_PROFILE: " ", ENV_REGION: "eu-west-1"})
    assert enabled({ENV_PROFILE: "sandbox", ENV_REGION: "eu-west-1"})
    one = from_environment({ENV_PROFILE: "sandbox", ENV_REGION: "eu-west-1"})
    two = from_environment({ENV_PROFILE: "sandbox", ENV_REGION: "eu-west-1"})
    assert one.project != two.project
    assert naming.PROJECT_RE.match(one.project) and "-" not in one.project
    with pytest.raises(ValueError, match="no hyphen"):
        from_environment({ENV_PROFILE: "s", ENV_REGION: "r", ENV_PROJECT: "cg-live"})


def test_a_run_cut_short_still_writes_its_report_and_deletes_what_it_made(monkeypatch, settings, clients):
    def timeline(live_run, workdir):
        live_run.ledger.will_create("bucket", f"{live_run.project}-probe")
        clients("s3").create_bucket(
            Bucket=f"{live_run.project}-probe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        live_run.record(probes.q9_connection_manual(project=live_run.project, region="eu-west-1"))
        raise KeyboardInterrupt  # Ctrl-C half-way

    monkeypatch.setattr(run, "_timeline", timeline)
    settings = LiveSettings(**{**settings.__dict__})
    live_run = run.LiveRun(
        settings,
        clients,
        Ledger(settings.output / "ledger.jsonl"),
        timing=run.Timing(interval=0, sleep=lambda s: None),
    )
    with pytest.raises(KeyboardInterrupt):
        run.execute(live_run, settings.output)
    assert f"{settings.project}-probe" not in {b["Name"] for b in clients("s3").list_buckets()["Buckets"]}
    assert live_run.ledger.pending() == []
    data = json.loads((settings.output / "report.json").read_text())
    outcomes = {r["id"]: r["outcome"] for r in data["results"]}
    assert outcomes.pop("Q9") == MANUAL
    assert set(outcomes.values()) == {ERROR}
