"""Stop a pipeline execution: cancel a run, as opposed to rejecting its change set.

A rejection is a reviewer's verdict on one change set; stopping is an operator pulling the
brake on a run (a wrong commit, a stuck action). CodePipeline records them differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from changegate.aws import aws_call, error_code
from changegate.pipeline_state import read_state
from generator.errors import AwsError, UsageError

NOT_STOPPABLE = ("PipelineExecutionNotStoppableException", "DuplicatedStopRequestException",
                 "ConflictException")


@dataclass(frozen=True)
class StopResult:
    pipeline: str
    execution_id: str
    abandon: bool
    reason: str


def current_execution(codepipeline: Any, pipeline: str, execution_id: str | None = None) -> str:
    """The execution to stop: the one given, or the only one running. Several running: ask which."""
    state = read_state(codepipeline, pipeline)
    running = state.running
    listed = ", ".join(f"{e} {state.position(e)}" for e in running)
    if execution_id is not None:
        if execution_id not in running:
            raise UsageError(f"execution {execution_id} is not running on {pipeline}; running: "
                             f"{listed or 'none'}")
        return execution_id
    if not running:
        raise UsageError(f"nothing is running on pipeline {pipeline}: no execution to stop")
    if len(running) > 1:
        # QUEUED mode: one execution holds the Change stage, the others wait to enter it
        raise UsageError(f"{len(running)} executions are in progress on {pipeline} "
                         f"({listed}): pick one with --execution ID")
    return running[0]


def stop_execution(codepipeline: Any, pipeline: str, execution_id: str, *, abandon: bool,
                   reason: str) -> StopResult:
    """``StopPipelineExecution``: finish in-progress actions first, or abandon them (``abandon``)."""
    with aws_call("codepipeline:StopPipelineExecution", f"pipeline {pipeline} execution {execution_id}"):
        try:
            codepipeline.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id,
                                                 abandon=abandon, reason=reason)
        except ClientError as exc:
            if error_code(exc) in NOT_STOPPABLE:
                message = exc.response.get("Error", {}).get("Message", "")
                raise AwsError(f"{error_code(exc)}: execution {execution_id} of {pipeline} cannot be "
                               f"stopped now: {message}") from exc
            raise
    return StopResult(pipeline, execution_id, abandon, reason)
