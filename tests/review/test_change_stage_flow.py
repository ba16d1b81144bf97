"""The generated Change stage's Lambda actions, driven in RunOrder with the configuration the template
gives them, against the steps function (issue 11, items 2-6 and 8, the review-to-execution part).

Each action's UserParameters come from the generated template and are resolved as CodePipeline would:
``#{codepipeline.PipelineExecutionId}`` by the execution id, ``#{Review.X}`` by the outputs the Review
action reported in its PutJobSuccessResult. moto has neither CodePipeline's job, approval and
execution-history APIs nor change sets with Replacement/Details: CloudFormation, CodePipeline and
the artifact's S3 are botocore Stubbers, checking every request against botocore's model and every
response against its output shape. What a person does in between (approving) is the recorded
ListActionExecutions answer the check step reads.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from changesets import change, detail, empty_response, response
from test_steps import archive

from generator import naming
from generator.bootstrap.template import render_template
from review import steps

REPO = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "eu-west-1", "123456789012"
STACK = PIPELINE = "acme-network"
EXECUTION = "3c1d9e2a-7b6f-4e5d-8c4b-2a1f0e9d8c7b"
CHANGE_SET = f"acme-{EXECUTION}"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/9f8e7d6c-5b4a-4321-8fed-cba987654321"
CHANGE_SET_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{CHANGE_SET}/11112222-3333-4444-5555-666677778888"
)
UPDATED = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
ADA = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/ada@example.com"
BOB = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approver_0123/bob@example.com"
FUNCTION = "arn:aws:sts::123456789012:assumed-role/acme-changegate-steps/acme-changegate-steps"
JOB = "44444444-abcd-4444-abcd-444444abcdef"


@pytest.fixture(scope="module")
def stage() -> dict[str, dict]:
    doc = json.loads(render_template(REPO))
    props = next(
        r["Properties"]
        for r in doc["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline" and r["Properties"]["Name"] == PIPELINE
    )
    return {a["Name"]: a for a in props["Stages"][1]["Actions"]}


class Execution:
    """One execution of the stack pipeline: resolves the template's parameters, runs the Lambda actions."""

    def __init__(self, stage: dict[str, dict]) -> None:
        self.stage = stage
        self.outputs: dict[str, str] = {}

    def parameters(self, action: str) -> str:
        text = self.stage[action]["Configuration"]["UserParameters"]
        text = text.replace(naming.EXECUTION_ID_VARIABLE, EXECUTION)
        return re.sub(r"#\{Review\.([A-Za-z]+)\}", lambda m: self.outputs[m.group(1)], text)

    def run(self, action: str, expect, continuation: str | None = None) -> steps.StepResult | None:
        clients = {
            s: boto3.client(s, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
            for s in ("cloudformation", "codepipeline", "s3")
        }
        stubs = {s: Stubber(c) for s, c in clients.items()}
        expect(stubs)
        event = {
            "CodePipeline.job": {
                "id": JOB,
                "accountId": ACCOUNT,
                "data": {
                    "actionConfiguration": {
                        "configuration": {
                            "FunctionName": "acme-changegate-steps",
                            "UserParameters": self.parameters(action),
                        }
                    },
                    "inputArtifacts": [
                        {
                            "name": "SourceArtifact",
                            "location": {
                                "type": "S3",
                                "s3Location": {"bucketName": "artifacts", "objectKey": "network/Source/x"},
                            },
                        }
                    ],
                    "outputArtifacts": [],
                    "artifactCredentials": {},
                    **({"continuationToken": continuation} if continuation else {}),
                },
            }
        }
        for stub in stubs.values():
            stub.activate()
        try:
            result = steps.run(
                event,
                codepipeline=clients["codepipeline"],
                cloudformation=clients["cloudformation"],
                artifact_s3=lambda credentials: clients["s3"],
            )
        finally:
            for stub in stubs.values():
                stub.deactivate()
        for stub in stubs.values():
            stub.assert_no_pending_responses()
        if action == naming.REVIEW_ACTION and result is not None and not result.continuation:
            self.outputs = dict(result.outputs)
        return result

    def review(self, changes: list, drift: str = "IN_SYNC") -> steps.StepResult:
        """The Review action as CodePipeline drives it: the first call starts the drift detection of
        the touched resources and continues; the next one (with the token) finishes the review."""
        first = self.run(naming.REVIEW_ACTION, drift_start_expects(changes))
        assert first.continuation and first.outputs == {}
        return self.run(naming.REVIEW_ACTION, drift_finish_expects(changes, drift), first.continuation)


def _stack(updated: dt.datetime = UPDATED) -> dict:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackId": STACK_ID,
                "CreationTime": UPDATED - dt.timedelta(days=9),
                "LastUpdatedTime": updated,
                "StackStatus": "UPDATE_COMPLETE",
            }
        ]
    }


def _cs(changes: list, **kw) -> dict:
    return response(
        changes, stack=STACK, stack_id=STACK_ID, name=CHANGE_SET, change_set_id=CHANGE_SET_ID, **kw
    )


def review_expects(changes: list | None, policy: dict | None = None):
    def expect(stubs: dict) -> None:
        cs = (
            _cs(changes)
            if changes is not None
            else (
                empty_response()
                | {
                    "StackName": STACK,
                    "StackId": STACK_ID,
                    "ChangeSetName": CHANGE_SET,
                    "ChangeSetId": CHANGE_SET_ID,
                }
            )
        )
        stubs["cloudformation"].add_response(
            "describe_change_set",
            cs,
            {"IncludePropertyValues": True, "StackName": STACK, "ChangeSetName": CHANGE_SET},
        )
        stubs["cloudformation"].add_response("describe_stacks", _stack(), {"StackName": STACK})
        if changes is None:
            stubs["cloudformation"].add_response(
                "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
            )
            stubs["codepipeline"].add_response(
                "stop_pipeline_execution",
                {"pipelineExecutionId": EXECUTION},
                {"pipelineName": PIPELINE, "pipelineExecutionId": EXECUTION, "abandon": False, "reason": ANY},
            )
        else:
            data = archive(policy)
            stubs["s3"].add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(data), len(data))},
                {"Bucket": "artifacts", "Key": "network/Source/x"},
            )
        stubs["codepipeline"].add_response(
            "put_job_success_result", {}, {"jobId": JOB, "outputVariables": ANY}
        )

    return expect


DETECTION = "624af370-311a-11e8-b6b7-500cexample"


def _touched(changes: list) -> list[str]:
    return sorted(c["ResourceChange"]["LogicalResourceId"] for c in changes
                  if c["ResourceChange"]["Action"] in ("Modify", "Remove"))


def drift_start_expects(changes: list):
    def expect(stubs: dict) -> None:
        stubs["cloudformation"].add_response(
            "describe_change_set", _cs(changes),
            {"IncludePropertyValues": True, "StackName": STACK, "ChangeSetName": CHANGE_SET})
        stubs["cloudformation"].add_response("describe_stacks", _stack(), {"StackName": STACK})
        stubs["cloudformation"].add_response(
            "detect_stack_drift", {"StackDriftDetectionId": DETECTION},
            {"StackName": STACK, "LogicalResourceIds": _touched(changes)})
        stubs["codepipeline"].add_response("put_job_success_result", {},
                                           {"jobId": JOB, "continuationToken": ANY})

    return expect


def drift_finish_expects(changes: list, drift: str):
    def expect(stubs: dict) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        stubs["cloudformation"].add_response(
            "describe_change_set", _cs(changes),
            {"IncludePropertyValues": True, "StackName": STACK, "ChangeSetName": CHANGE_SET})
        stubs["cloudformation"].add_response(
            "describe_stack_drift_detection_status",
            {"StackId": STACK_ID, "StackDriftDetectionId": DETECTION, "DetectionStatus": "DETECTION_COMPLETE",
             "Timestamp": now - dt.timedelta(seconds=30)},
            {"StackDriftDetectionId": DETECTION})
        stubs["cloudformation"].add_response(
            "describe_stack_resource_drifts",
            {"StackResourceDrifts": [
                {"StackId": STACK_ID, "LogicalResourceId": logical_id, "ResourceType": "AWS::EC2::VPC",
                 "StackResourceDriftStatus": drift, "Timestamp": now - dt.timedelta(seconds=20)}
                for logical_id in _touched(changes)]},
            {"StackName": STACK})
        data = archive(None)
        stubs["s3"].add_response(
            "get_object", {"Body": StreamingBody(io.BytesIO(data), len(data))},
            {"Bucket": "artifacts", "Key": "network/Source/x"})
        stubs["codepipeline"].add_response("put_job_success_result", {},
                                           {"jobId": JOB, "outputVariables": ANY})

    return expect


def waive_expects(waived: bool):
    def expect(stubs: dict) -> None:
        if waived:
            stubs["codepipeline"].add_response(
                "get_pipeline_state",
                {
                    "pipelineName": PIPELINE,
                    "stageStates": [
                        {
                            "stageName": "Change",
                            "latestExecution": {"pipelineExecutionId": EXECUTION, "status": "InProgress"},
                            "actionStates": [
                                {
                                    "actionName": "SecondApproval",
                                    "latestExecution": {"status": "InProgress", "token": "tok"},
                                }
                            ],
                        }
                    ],
                },
                {"name": PIPELINE},
            )
            stubs["codepipeline"].add_response(
                "put_approval_result",
                {"approvedAt": UPDATED},
                {
                    "pipelineName": PIPELINE,
                    "stageName": "Change",
                    "actionName": "SecondApproval",
                    "token": "tok",
                    "result": {"status": "Approved", "summary": ANY},
                },
            )
        stubs["codepipeline"].add_response("put_job_success_result", {}, {"jobId": JOB})

    return expect


def check_expects(
    first: str,
    second: str,
    *,
    updated: dt.datetime = UPDATED,
    reads_approvals: bool = True,
    succeeds: bool = True,
    failures: list | None = None,
):
    def expect(stubs: dict) -> None:
        stubs["cloudformation"].add_response(
            "describe_change_set", _cs([]), {"StackName": STACK, "ChangeSetName": CHANGE_SET}
        )
        stubs["cloudformation"].add_response("describe_stacks", _stack(updated), {"StackName": STACK})
        if reads_approvals:
            details = [
                {
                    "pipelineExecutionId": EXECUTION,
                    "actionExecutionId": f"a{i}",
                    "stageName": "Change",
                    "actionName": name,
                    "status": "Succeeded",
                    "updatedBy": by,
                    "lastUpdateTime": UPDATED,
                }
                for i, (name, by) in enumerate((("SecondApproval", second), ("Approve", first)))
            ]
            stubs["codepipeline"].add_response(
                "list_action_executions",
                {"actionExecutionDetails": details},
                {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}},
            )
        if succeeds:
            stubs["codepipeline"].add_response("put_job_success_result", {}, {"jobId": JOB})
        else:
            stubs["codepipeline"].client.meta.events.register(
                "provide-client-params.codepipeline.PutJobFailureResult",
                lambda params, **_: failures.append(params["failureDetails"]["message"]),
            )
            stubs["codepipeline"].add_response(
                "put_job_failure_result",
                {},
                {"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": ANY}},
            )

    return expect


TAGS_ONLY = [
    change("Vpc", "AWS::EC2::VPC", "Modify", replacement="False", details=[detail("Tags", attribute="Tags")])
]
DATABASE = [
    change(
        "Database",
        "AWS::RDS::DBInstance",
        "Modify",
        replacement="True",
        policy_action="ReplaceAndDelete",
        details=[detail("DBInstanceIdentifier", recreation="Always")],
    )
]


def test_an_empty_change_set_stops_the_execution_before_anyone_is_asked(stage) -> None:
    run = Execution(stage)
    result = run.run(naming.REVIEW_ACTION, review_expects(None))
    assert result.stopped and run.outputs["HasChanges"] == "false"


def test_a_tag_only_change_asks_one_approver(stage) -> None:
    run = Execution(stage)
    run.review(TAGS_ONLY)
    assert run.outputs["RiskTier"] == "low"
    approve = stage[naming.APPROVE_ACTION]["Configuration"]["CustomData"]
    text = approve.replace("#{Review.Summary}", run.outputs["Summary"])
    assert text.startswith("Risk LOW: 1 modify | Stack acme-network, commit ")
    assert (
        run.run(naming.WAIVE_ACTION, waive_expects(waived=True)).message == "risk low: SecondApproval waived"
    )
    checked = run.run(naming.CHECK_ACTION, check_expects(ADA, FUNCTION))
    assert checked.message.endswith("risk low: one approval is enough")


def test_a_database_replacement_needs_two_people_and_refuses_one_twice(stage) -> None:
    run = Execution(stage)
    run.review(DATABASE)
    assert run.outputs["RiskTier"] == "high"
    assert "DATA LOSS: Database replaced" in run.outputs["Summary"]
    assert "needs a second person" in run.run(naming.WAIVE_ACTION, waive_expects(waived=False)).message
    failures: list[str] = []
    assert run.run(naming.CHECK_ACTION, check_expects(ADA, ADA, succeeds=False, failures=failures)) is None
    assert (
        run.run(naming.CHECK_ACTION, check_expects(ADA, FUNCTION, succeeds=False, failures=failures)) is None
    )
    assert "same identity" in failures[0]
    assert "SecondApproval was waived by changegate, not approved by a person" in failures[1]
    checked = run.run(naming.CHECK_ACTION, check_expects(ADA, BOB))
    assert checked.message.endswith(f"approved by {ADA} and {BOB}")


def test_a_change_set_made_stale_by_a_stack_update_is_refused_before_execution(stage) -> None:
    run = Execution(stage)
    run.review(TAGS_ONLY)
    later = UPDATED + dt.timedelta(hours=1)
    failures: list[str] = []
    assert (
        run.run(
            naming.CHECK_ACTION,
            check_expects(
                ADA, FUNCTION, updated=later, reads_approvals=False, succeeds=False, failures=failures
            ),
        )
        is None
    )
    [message] = failures
    assert message.startswith(f"stale: {STACK} change set {CHANGE_SET} is not what was reviewed")
    assert f"stack last changed {later.isoformat()}, at the review {UPDATED.isoformat()}" in message


def test_drift_overwritten_makes_a_tag_change_high_risk(stage) -> None:
    run = Execution(stage)
    run.review(TAGS_ONLY, drift="MODIFIED")
    assert run.outputs["RiskTier"] == "high"
    assert "overwrites drift: Vpc drifted (MODIFIED)" in run.outputs["Summary"]
