"""Follow stack pipeline executions: their actions, their approvals, their end.

Stage and action names come from generator.naming (the pipeline's shape is declared there),
never literals, so the harness follows the generator when the shape changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from generator import naming

Sleep = Callable[[float], None]
Clock = Callable[[], float]

ACTION_DONE = frozenset({"Succeeded", "Failed", "Abandoned"})
EXECUTION_DONE = frozenset({"Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"})


class WaitTimeout(Exception):
    pass


def action_executions(codepipeline: Any, pipeline: str, execution_id: str) -> list[dict[str, Any]]:
    """Every action execution of one pipeline execution, oldest first."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"pipelineName": pipeline, "filter": {"pipelineExecutionId": execution_id}}
    while True:
        page = codepipeline.list_action_executions(**kwargs)
        found += page.get("actionExecutionDetails", [])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return sorted(found, key=lambda d: d.get("startTime") or 0)


def latest_action(codepipeline: Any, pipeline: str, execution_id: str, action: str) -> dict[str, Any] | None:
    runs = [d for d in action_executions(codepipeline, pipeline, execution_id)
            if d.get("actionName") == action]
    return runs[-1] if runs else None


def execution_status(codepipeline: Any, pipeline: str, execution_id: str) -> str:
    return codepipeline.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)[
        "pipelineExecution"]["status"]


def wait_until(probe: Callable[[], Any], what: str, *, timeout: float, interval: float,
               sleep: Sleep = time.sleep, clock: Clock = time.monotonic) -> Any:
    """Call ``probe`` until it returns something truthy; raise WaitTimeout after ``timeout``."""
    deadline = clock() + timeout
    while True:
        value = probe()
        if value:
            return value
        if clock() >= deadline:
            raise WaitTimeout(f"{what}: not after {timeout:.0f}s")
        sleep(interval)


def wait_for_action_or_end(codepipeline: Any, pipeline: str, execution_id: str, action: str,
                           statuses: Collection[str], **wait: Any) -> tuple[dict[str, Any] | None, str]:
    """Wait until ``action`` reaches one of ``statuses`` or the execution ends, whichever is first.

    Returns (the action execution or None, the execution's status then).
    """
    def probe() -> tuple[dict[str, Any] | None, str] | None:
        run = latest_action(codepipeline, pipeline, execution_id, action)
        status = execution_status(codepipeline, pipeline, execution_id)
        if (run and run.get("status") in statuses) or status in EXECUTION_DONE:
            return run, status
        return None

    return wait_until(probe, f"{pipeline} {execution_id} action {action} {sorted(statuses)}", **wait)


def wait_for_end(codepipeline: Any, pipeline: str, execution_id: str, **wait: Any) -> str:
    return wait_until(lambda: (lambda s: s if s in EXECUTION_DONE else None)(
        execution_status(codepipeline, pipeline, execution_id)),
        f"{pipeline} execution {execution_id} to end", **wait)


def approval_token(codepipeline: Any, pipeline: str, execution_id: str) -> str | None:
    """The token of the approval waiting in ``execution_id``, or None when none waits there."""
    state = codepipeline.get_pipeline_state(name=pipeline)
    for stage in state.get("stageStates", []):
        if stage.get("stageName") != naming.CHANGE_STAGE:
            continue
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if (action.get("actionName") == naming.APPROVE_ACTION and latest.get("status") == "InProgress"
                    and stage.get("latestExecution", {}).get("pipelineExecutionId") == execution_id):
                return latest.get("token")
    return None


def decide(codepipeline: Any, pipeline: str, execution_id: str, *, approve: bool, summary: str) -> None:
    token = approval_token(codepipeline, pipeline, execution_id)
    if not token:
        raise WaitTimeout(f"{pipeline} execution {execution_id} has no approval waiting")
    codepipeline.put_approval_result(
        pipelineName=pipeline, stageName=naming.CHANGE_STAGE, actionName=naming.APPROVE_ACTION,
        result={"summary": summary, "status": "Approved" if approve else "Rejected"}, token=token)


def resolved_configuration(run: dict[str, Any] | None) -> dict[str, str]:
    """The action's configuration after CodePipeline replaced the variables, as it reports it."""
    if not run:
        return {}
    data = run.get("input", {})
    return dict(data.get("resolvedConfiguration") or data.get("configuration") or {})
