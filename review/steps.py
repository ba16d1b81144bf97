"""The steps function: every Lambda action of a stack pipeline's Change stage runs :func:`handler`.

The action's ``UserParameters`` (JSON) name the step (generator/pipeline.py writes them):

- ``{"Step": "review", ...}`` (action ``Review``, after CreateChangeSet): read and judge the change
  set (review/changeset.py, review/assess.py), and hand the approval its text and link as output
  variables. An empty change set asks nobody: see :func:`review_step`.
- ``{"Step": "waive", ...}`` (action ``WaiveSecondApproval``, beside the two approvals): approves
  ``SecondApproval`` when the change is not high risk (review/approvals.py says why this is safe).
- ``{"Step": "window", ...}`` (action ``WaitForWindow``, after the approvals, only for stacks with a
  deployment window): waits until the stack's window is open, see :func:`window_step`.
- ``{"Step": "check", ...}`` (action ``CheckChangeSet``, after the approvals): the stale guard and
  the two-approvals rule, see :func:`check_step`.
- ``{"Phase": "before"|"after", ...}`` (``ApplyStackPolicy``, ``VerifyStackPolicy``): the owner's stack
  policy (review/stack_policy.py).

"there must be a call to either the PutJobSuccessResult API or PutJobFailureResult API. Otherwise,
the execution of this action hangs until the action times out" (CodePipeline user guide,
action-reference-Lambda): every step reports exactly one result, whatever happens. The event is
never logged: it holds the job's artifact credentials.

Only the standard library, boto3 and botocore (a test enforces it): the Lambda runtime has them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from review import approvals, drift, stack_policy, validations, window
from review.assess import Review, assess
from review.changeset import ChangeSetError, read_change_set
from review.render import console_link, render_text

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

STEP_REVIEW = "review"
STEP_WAIVE = "waive"
STEP_CHECK = "check"
STEP_WINDOW = "window"
STEPS = (STEP_REVIEW, STEP_WAIVE, STEP_WINDOW, STEP_CHECK)
# The stage and the approval actions (generator/naming.py CHANGE_STAGE, APPROVE_ACTION,
# SECOND_APPROVAL_ACTION; a test keeps them equal).
CHANGE_STAGE = "Change"
APPROVE_ACTION = "Approve"
SECOND_APPROVAL_ACTION = "SecondApproval"
# How many times the waiver looks for the open second approval before it gives up (then a person
# must approve it: giving up never lowers the bar). Continuation tokens: "1 to 2048 characters".
MAX_WAIVE_ATTEMPTS = 20
# The Review action's output variables (its namespace is generator/naming.py REVIEW_NAMESPACE).
OUT_HAS_CHANGES = "HasChanges"
OUT_RISK = "RiskTier"
OUT_SUMMARY = "Summary"
OUT_LINK = "ReviewLink"
OUT_CHANGE_SET_ID = "ChangeSetId"
OUT_STACK_STATUS = "StackStatus"
OUT_STACK_UPDATED = "StackUpdated"
OUTPUTS = (OUT_HAS_CHANGES, OUT_RISK, OUT_SUMMARY, OUT_LINK, OUT_CHANGE_SET_ID, OUT_STACK_STATUS,
           OUT_STACK_UPDATED)
# What the review's summary may take when the step is given no budget: MAX_CUSTOM_DATA of the approval.
DEFAULT_SUMMARY_MAX = 300
# StopPipelineExecution's reason: "Maximum length of 200" (CodePipeline API reference).
MAX_STOP_REASON = 200
MAX_FAILURE_MESSAGE = stack_policy.MAX_FAILURE_MESSAGE
# A stack that does not exist yet (the change set creates it) has no status to compare.
NO_STACK = "NONE"
# CheckChangeSet's UserParameters end with the commit's author, as CodePipeline resolves
# #{variables.CommitAuthor} into them: raw text, so an author with a " or a \ would make the JSON
# unreadable. The generator writes the author last, after this marker (generator/bootstrap/pipeline.py
# AUTHOR_MARKER; a test keeps them equal), and _parameters reads what follows it as plain text.
AUTHOR_MARKER = ',"CommitAuthor":"'


class StepError(Exception):
    """Why the action fails; its message is what the pipeline's console shows."""


@dataclass(frozen=True)
class StepResult:
    message: str
    outputs: dict[str, str]
    stopped: bool = False  # the step stopped its own execution (empty change set)
    continuation: str | None = None  # call again later (PutJobSuccessResult continuationToken)


def _with_author(text: str) -> dict[str, Any]:
    """UserParameters whose last member is the raw commit author (AUTHOR_MARKER).

    Everything before the FIRST marker is the generator's JSON (names from the template, outputs of
    the Review step); everything after it is the author, taken as plain text and never parsed. The
    whole text is never read as JSON: git lets a committer write any author, and an author such as
    ``x","RiskTier":"low`` would otherwise make valid JSON whose last duplicate key wins, turning a
    high-risk change into one that needs a single approval.
    """
    head, marker, tail = text.partition(AUTHOR_MARKER)
    if not marker:
        return json.loads(text)
    if not tail.endswith('"}'):
        raise ValueError("the commit author after the CommitAuthor marker does not end the parameters")
    parameters = json.loads(head + "}")
    if isinstance(parameters, dict):
        parameters["CommitAuthor"] = tail[:-2]
    return parameters


def _parameters(event: dict[str, Any]) -> dict[str, Any]:
    data = event["CodePipeline.job"].get("data") or {}
    try:
        parameters = _with_author(data["actionConfiguration"]["configuration"]["UserParameters"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StepError(f"UserParameters must be a JSON object naming the step, not readable "
                        f"({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(parameters, dict):
        raise StepError("UserParameters must be a JSON object naming the step")
    return parameters


def _require(parameters: dict, *names: str) -> list[str]:
    missing = [n for n in names if not isinstance(parameters.get(n), str) or not parameters[n]]
    if missing:
        raise StepError(f"UserParameters of step {parameters.get('Step')!r} lack {', '.join(missing)}")
    return [parameters[n] for n in names]


def stack_state(cfn: Any, stack: str) -> tuple[str, str]:
    """(StackStatus, last change time) of ``stack``; (NO_STACK, NO_STACK) when it does not exist.

    The time is LastUpdatedTime, or CreationTime for a stack never updated ("This field will only
    be returned if the stack has been updated at least once", API reference, Stack).
    """
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(exc):
            return NO_STACK, NO_STACK
        raise
    if not stacks:
        return NO_STACK, NO_STACK
    found = stacks[0]
    when = found.get("LastUpdatedTime") or found.get("CreationTime")
    return found["StackStatus"], when.isoformat() if hasattr(when, "isoformat") else str(when)


# ---- Review ----

def review_outputs(review: Review, *, summary_max: int, link: str, stack: tuple[str, str]) -> dict[str, str]:
    """The Review action's output variables: small, each a flag, a tier, one line, a link or an id."""
    return {OUT_HAS_CHANGES: "true" if review.has_changes else "false", OUT_RISK: review.risk,
            OUT_SUMMARY: review.summary_line(summary_max), OUT_LINK: link,
            OUT_CHANGE_SET_ID: review.change_set_id, OUT_STACK_STATUS: stack[0], OUT_STACK_UPDATED: stack[1]}


def stateful_types(parameters: dict) -> frozenset[str]:
    """The owners' extra stateful types (``StatefulTypes``: pipelines/config.yaml review.stateful_types)."""
    found = parameters.get("StatefulTypes") or []
    if not isinstance(found, list) or not all(isinstance(t, str) for t in found):
        raise StepError("UserParameters: StatefulTypes must be a list of resource type names")
    return frozenset(found)


def _drift_settings(parameters: dict) -> tuple[bool, int]:
    """(detect, timeout in seconds) from UserParameters ``DriftDetect`` and ``DriftTimeout``.

    Absent: detect, for drift.DEFAULT_TIMEOUT_SECONDS (the generator writes only other values). The
    function's code and the pipelines that call it are in the same bootstrap stack, so a pipeline
    never runs this code with a role that lacks the drift permissions.
    """
    detect = parameters.get("DriftDetect", True)
    timeout = parameters.get("DriftTimeout", drift.DEFAULT_TIMEOUT_SECONDS)
    if not isinstance(detect, bool) or type(timeout) is not int or timeout < 1:
        raise StepError("UserParameters: DriftDetect must be true or false and DriftTimeout a number of "
                        f"seconds, not {detect!r} and {timeout!r}")
    return detect, timeout


def _start_drift(cloudformation: Any, stack: str, view: Any, state: tuple[str, str], *, detect: bool,
                 now: dt.datetime) -> drift.Pending | drift.DriftResult:
    """Start detecting drift of the resources the change touches, or say why there is nothing to detect."""
    touched = drift.touched(view)
    if not detect:
        return drift.not_run("drift detection is turned off for this stack (review.drift.detect)")
    if state[0] in drift.NOT_DETECTABLE:
        return drift.not_run("no drift detection: the stack does not exist yet")
    if not touched:
        return drift.not_run("no drift detection: the change modifies or removes no resource of the stack")
    from botocore.exceptions import ClientError

    try:
        detection_id = drift.start(cloudformation, stack, touched)
    except ClientError as exc:
        # e.g. a detection already running on the stack, or no permission: the review goes on and
        # says that drift is unknown; it is not high risk by itself.
        error = exc.response.get("Error", {})
        reason = f"detection could not start: {error.get('Code', '')}: {error.get('Message', '')}"
        return drift.all_unknown(touched, drift.shorten(reason), f"drift {reason}")
    return drift.Pending(detection_id, int(now.timestamp()), *state)


def review_step(parameters: dict, *, cloudformation: Any, codepipeline: Any,
                policy: Callable[[], dict | None], continuation: str | None = None,
                now: dt.datetime | None = None) -> StepResult:
    """Read and judge the change set; an empty one is deleted and the execution stops before Approve.

    Empty (CloudFormation's "no changes" answer, review/changeset.py): nobody is asked. The step
    deletes the change set (failed and empty change sets are not cleaned up by CloudFormation and
    count towards the stack's change set limit) and calls ``StopPipelineExecution`` with
    ``abandon=False`` BEFORE it reports success: "Stop and wait: AWS CodePipeline waits to stop the
    execution until all in-progress actions are completed ... The execution is in a Stopping state
    until the in-progress actions are complete. Then the execution is in a Stopped state. The stage
    unlocks after the actions are complete" (CodePipeline user guide, pipelines-stop), and the API
    stops "by completing in-progress actions without starting subsequent actions" (API reference,
    StopPipelineExecution). So this action succeeds, Approve never starts, the execution ends
    Stopped with the reason "No changes: ..." (not Failed), and the stage unlocks for the next
    queued execution. If the stop is refused, the step fails instead: a failed execution is visible,
    an approval request for nothing is what this step exists to prevent.

    Drift (review/drift.py): when the change modifies or removes resources of an existing stack,
    the first call starts a drift detection of those resources and returns a continuation token;
    CodePipeline calls again later, and the call that sees the detection ended (or the deadline,
    ``DriftTimeout``, passed) finishes the review. Output variables go only with that last result:
    "outputVariables can be included only when there is no continuation token on the request"
    (API reference, PutJobSuccessResult). The stack's state the review reports is the one read on
    the first call, carried in the token, so CheckChangeSet compares with what it was before the wait.
    """
    stack, change_set, pipeline, execution = _require(
        parameters, "StackName", "ChangeSetName", "PipelineName", "ExecutionId")
    summary_max = int(parameters.get("SummaryMax") or DEFAULT_SUMMARY_MAX)
    detect, timeout = _drift_settings(parameters)
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        view = read_change_set(cloudformation, stack, change_set)
    except ChangeSetError as exc:
        raise StepError(str(exc)) from exc
    if continuation:
        try:
            pending = drift.Pending.parse(continuation)
        except drift.DriftTokenError as exc:
            raise StepError(str(exc)) from exc
        state = (pending.stack_status, pending.stack_updated)
        found = drift.finish(cloudformation, stack, drift.touched(view), pending, now=now,
                             timeout_seconds=timeout)
        if found is None:
            return StepResult(f"drift detection {pending.detection_id} still running", {},
                              continuation=continuation)
    else:
        state = stack_state(cloudformation, stack)
        if view.is_empty:
            review = assess(view)
            cloudformation.delete_change_set(ChangeSetName=view.change_set_id or change_set, StackName=stack)
            reason = (f"No changes: stack {stack} already matches this source; the empty change set was "
                      "deleted and no approval requested")
            codepipeline.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution,
                                                 abandon=False, reason=reason[:MAX_STOP_REASON])
            # nothing to open: no link
            outputs = review_outputs(review, summary_max=summary_max, link="-", stack=state)
            return StepResult(f"{review.summary_line()}; change set deleted, execution stopped", outputs,
                              stopped=True)
        started = _start_drift(cloudformation, stack, view, state, detect=detect, now=now)
        if isinstance(started, drift.Pending):
            return StepResult(f"drift detection {started.detection_id} started for "
                              f"{len(drift.touched(view))} resource(s); the review follows", {},
                              continuation=started.token())
        found = started
    checks = validations.read_checks(cloudformation, view.change_set_id or change_set)
    review = assess(view, policy=policy(), drift=found, checks=checks,
                    stateful_types=stateful_types(parameters))
    log.info("review of %s %s:\n%s", stack, change_set, render_text(review))
    link = console_link(view.stack_id, view.change_set_id)
    return StepResult(review.summary_line(), review_outputs(review, summary_max=summary_max, link=link,
                                                            stack=state))


# ---- the stale guard ----

def check_step(parameters: dict, *, cloudformation: Any, codepipeline: Any = None) -> StepResult:
    """The change set about to execute is the reviewed one, still executable, on an unchanged stack.

    Runs after Approve, before ApplyStackPolicy and ExecuteChangeSet (generator/pipeline.py says why
    there). ``ChangeSetId``, ``StackStatus`` and ``StackUpdated`` are the Review action's outputs,
    put into UserParameters by CodePipeline (``#{Review.ChangeSetId}``...). Any difference fails the
    action with a message that says what changed, and ExecuteChangeSet never runs.

    With ``RiskTier`` and ``Approvals`` it also reads who approved (ListActionExecutions) and
    refuses a change that needs two approvals without two different people, neither of them the
    commit's author where that is known (``CommitAuthor``, the sync's ``#{variables.CommitAuthor}``;
    review/approvals.py).
    """
    stack, change_set, reviewed_id, reviewed_status, reviewed_updated = _require(
        parameters, "StackName", "ChangeSetName", "ChangeSetId", "StackStatus", "StackUpdated")
    from botocore.exceptions import ClientError

    problems = []
    try:
        found = cloudformation.describe_change_set(StackName=stack, ChangeSetName=change_set)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ChangeSetNotFound":
            raise
        raise StepError(f"stale: change set {change_set} of {stack} no longer exists (deleted, or removed "
                        "when another change set executed); nothing was executed") from exc
    if found.get("ChangeSetId") != reviewed_id:
        problems.append(f"change set id is {found.get('ChangeSetId')}, the review saw {reviewed_id}")
    if found.get("Status") != "CREATE_COMPLETE":
        problems.append(f"change set status is {found.get('Status')}, not CREATE_COMPLETE")
    if found.get("ExecutionStatus") != "AVAILABLE":
        problems.append(f"change set execution status is {found.get('ExecutionStatus')}, not AVAILABLE")
    status, updated = stack_state(cloudformation, stack)
    if status != reviewed_status:
        problems.append(f"stack status is {status}, at the review it was {reviewed_status}")
    if updated != reviewed_updated:
        problems.append(f"stack last changed {updated}, at the review {reviewed_updated}")
    if problems:
        raise StepError(f"stale: {stack} change set {change_set} is not what was reviewed and approved: "
                        + "; ".join(problems))
    fresh = f"change set {change_set} of {stack} is the reviewed one, and the stack is unchanged"
    if codepipeline is None or "RiskTier" not in parameters:
        return StepResult(fresh, {})
    pipeline, execution, risk, requirement, role = _require(
        parameters, "PipelineName", "ExecutionId", "RiskTier", "Approvals", "FunctionRole")
    found = approvals.approvals_of(codepipeline, pipeline, execution,
                                   (APPROVE_ACTION, SECOND_APPROVAL_ACTION))
    try:
        checked = approvals.check_approvals(found, first=APPROVE_ACTION, second=SECOND_APPROVAL_ACTION,
                                            risk=risk, requirement=requirement, function_role=role,
                                            author=commit_author(parameters))
    except approvals.ApprovalError as exc:
        raise StepError(f"refused: {exc}") from exc
    return StepResult(f"{fresh}; {checked}", {})


def commit_author(parameters: dict) -> str | None:
    """The commit's author as the sync set it ("Name <email>"), or None where it is not known.

    "unknown" is the variable's default (a run the sync did not start) and "-" what the sync sends
    for an empty value (generator/naming.py PIPELINE_VARIABLE_DEFAULT, sync/pipelines.py EMPTY_VALUE).
    """
    author = parameters.get("CommitAuthor")
    if not isinstance(author, str) or author.strip() in approvals.UNKNOWN_AUTHORS:
        return None
    return author


# ---- the waiver of the second approval ----

def waive_step(parameters: dict, *, codepipeline: Any, continuation: str | None) -> StepResult:
    """Approve SecondApproval when one approval is enough; otherwise leave it to a second person.

    Runs beside the two approvals; the approval opens at the same time, but this step may start
    first, so it waits (continuation tokens) until GetPipelineState shows the open request of its
    own execution. An approval someone already decided is left as it is.
    """
    pipeline, execution, risk, requirement = _require(parameters, "PipelineName", "ExecutionId", "RiskTier",
                                                      "Approvals")
    if requirement not in approvals.REQUIREMENTS:
        raise StepError(f"UserParameters: Approvals must be one of {', '.join(approvals.REQUIREMENTS)}, "
                        f"not {requirement!r}")
    if approvals.two_needed(risk, requirement):
        why = ("the stack requires two approvals" if requirement == approvals.REQUIRE_ALWAYS
               else f"risk {risk}")
        return StepResult(f"{why}: {SECOND_APPROVAL_ACTION} needs a second person", {})
    attempt = int(continuation) if continuation and continuation.isdigit() else 0
    status, token = approvals.approval_state(codepipeline, pipeline, execution, CHANGE_STAGE,
                                             SECOND_APPROVAL_ACTION)
    if status in ("Succeeded", "Failed"):
        return StepResult(f"{SECOND_APPROVAL_ACTION} was already decided ({status})", {})
    if token is None:
        if attempt + 1 >= MAX_WAIVE_ATTEMPTS:
            return StepResult(f"{SECOND_APPROVAL_ACTION} did not open; left to a person", {})
        return StepResult(f"waiting for {SECOND_APPROVAL_ACTION} to open", {}, continuation=str(attempt + 1))
    from botocore.exceptions import ClientError

    try:
        codepipeline.put_approval_result(
            pipelineName=pipeline, stageName=CHANGE_STAGE, actionName=SECOND_APPROVAL_ACTION, token=token,
            result={"status": "Approved",
                    "summary": f"{approvals.WAIVER_PREFIX}risk {risk}, one approval is enough (changegate)"})
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("ApprovalAlreadyCompletedException", "InvalidApprovalTokenException"):
            return StepResult(f"{SECOND_APPROVAL_ACTION} was already decided ({code})", {})
        raise
    return StepResult(f"risk {risk}: {SECOND_APPROVAL_ACTION} waived", {})


# ---- the deployment window ----

# "the Lambda invoke action times out after 24 hours" (CodePipeline user guide, limits): the wait
# gives up on its own before that, with a message that says when the window opens and how to go on,
# rather than let CodePipeline end it with a bare timeout. 30 minutes of margin cover the gaps
# between CodePipeline's calls with a continuation token.
MAX_WINDOW_WAIT = window.WAIT_PER_ACTION
WINDOW_TOKEN_PREFIX = "waiting-since:"


def _waiting_since(continuation: str | None, now: dt.datetime) -> dt.datetime:
    """When this action began to wait: carried in its continuation token (epoch seconds).

    No token (the first call, or a retry of the failed action) or one this code did not write
    (e.g. "waiting", from before tokens carried the time) starts the clock now.
    """
    text = (continuation or "").removeprefix(WINDOW_TOKEN_PREFIX)
    if continuation and continuation.startswith(WINDOW_TOKEN_PREFIX) and text.isdigit():
        return dt.datetime.fromtimestamp(int(text), dt.timezone.utc)
    return now


def _when(moment: dt.datetime, zone: str) -> str:
    local = moment.astimezone(window.zone(zone))
    utc = moment.astimezone(dt.timezone.utc)
    text = f"{local:%a %Y-%m-%d %H:%M} {zone}"
    return text if local.utcoffset() == dt.timedelta(0) else f"{text} ({utc:%Y-%m-%d %H:%M} UTC)"


def _wait_place(text: Any) -> tuple[int, int]:
    """(k, n) from ``"Wait": "k/n"``; (1, 1) when absent (a window one action covers)."""
    if isinstance(text, str):
        k, _, n = text.partition("/")
        if k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
            return int(k), int(n)
        raise StepError(f"UserParameters: Wait must be k/n with 1 <= k <= n, not {text!r}")
    return 1, 1


def _waited(actions: int) -> str:
    hours = MAX_WINDOW_WAIT * actions
    return f"{hours.days * 24 + hours.seconds // 3600} h {hours.seconds % 3600 // 60} min"


def window_step(parameters: dict, *, now: dt.datetime, continuation: str | None = None) -> StepResult:
    """Succeed inside the stack's deployment window; outside it, ask to be called again later.

    Approvals may arrive at any time; the change set executes only inside the window. While this
    action waits, the execution holds the Change stage, so no other execution of the stack plans or
    executes meanwhile and nothing goes stale because of the wait (CheckChangeSet runs after it).
    CodePipeline calls the function again for a continuation token ("allows the action to
    continue ... even if it exceeds a fifteen-minute runtime", CodePipeline user guide,
    actions-invoke-lambda-function), but "the Lambda invoke action times out after 24 hours"
    (limits). So the token carries when the wait began, and after MAX_WINDOW_WAIT the step ends.

    A window can stay closed longer than one action may wait (a weekday window, over the weekend),
    so the generator puts as many WaitForWindow actions in a row as the window's longest closed
    stretch needs (window.wait_actions), each with ``"Wait": "k/n"``. One that is not the last hands
    on: it succeeds, still closed, and the next one waits. The last one (or the only one) fails,
    saying when the window next opens (window.next_opening) and how to continue: retry the Change
    stage's failed actions at or after that time.
    """
    cron, zone = _require(parameters, "Cron", "TimeZone")
    spec = window.Window(cron, zone)
    try:
        open_now = window.inside(spec, now)
    except window.WindowError as exc:
        raise StepError(f"deployment window: {exc}") from exc
    if open_now:
        return StepResult(f"inside the deployment window ({cron}, {zone})", {})
    since = _waiting_since(continuation, now)
    place, total = _wait_place(parameters.get("Wait"))
    if now - since >= MAX_WINDOW_WAIT and place < total:
        return StepResult(f"deployment window ({cron}, {zone}) still closed after 23 h 30 min: wait "
                          f"{place} of {total} hands on to the next", {})
    if now - since >= MAX_WINDOW_WAIT:
        opens = window.next_opening(spec, now)
        when = (f"it next opens {_when(opens, zone)}" if opens is not None
                else f"it does not open within the next {window.SEARCH_DAYS} days")
        raise StepError(
            f"deployment window ({cron}, {zone}) did not open within {_waited(total)} of the approvals "
            f"({'waiting' if total == 1 else f'the last of {total} waits'} since "
            f"{since:%Y-%m-%d %H:%M} UTC); {when}. Nothing was executed. CodePipeline ends a "
            "Lambda action after 24 hours, so this wait stops here: retry the Change stage's failed "
            "actions at or after that time (console: Retry failed actions; CLI: aws codepipeline "
            "retry-stage-execution --stage-name Change --retry-mode FAILED_ACTIONS) to wait again; "
            "CheckChangeSet still refuses the change set if the stack changed meanwhile")
    return StepResult(f"waiting for the deployment window ({cron}, {zone})", {},
                      continuation=f"{WINDOW_TOKEN_PREFIX}{int(since.timestamp())}")


# ---- the entry point ----

def run(event: dict[str, Any], *, codepipeline: Any, cloudformation: Any,
        artifact_s3: Callable[[dict[str, str]], Any],
        now: dt.datetime | None = None) -> StepResult | stack_policy.Outcome | None:
    """Do the step the action names and report exactly one result. Returns it (None on failure).

    ``now`` is the clock (the real one unless a test pins it).
    """
    job_id = event["CodePipeline.job"]["id"]
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        parameters = _parameters(event)
    except StepError as exc:
        _fail(codepipeline, job_id, str(exc))
        return None
    if "Phase" in parameters:
        return stack_policy.run(event, codepipeline=codepipeline, cloudformation=cloudformation,
                                artifact_s3=artifact_s3)
    step = parameters.get("Step")
    try:
        if step == STEP_REVIEW:
            result = review_step(parameters, cloudformation=cloudformation, codepipeline=codepipeline,
                                 policy=lambda: _artifact_policy(event, artifact_s3),
                                 continuation=_continuation(event), now=now)
        elif step == STEP_WAIVE:
            result = waive_step(parameters, codepipeline=codepipeline, continuation=_continuation(event))
        elif step == STEP_WINDOW:
            result = window_step(parameters, now=now, continuation=_continuation(event))
        elif step == STEP_CHECK:
            result = check_step(parameters, cloudformation=cloudformation, codepipeline=codepipeline)
        else:
            raise StepError(f"UserParameters: Step must be one of {', '.join(STEPS)}, not {step!r}")
    # The one place that catches everything: an action whose function ends without a result hangs
    # until it times out. Any error becomes the job's failure.
    except Exception as exc:
        _fail(codepipeline, job_id, _failure_message(exc))
        return None
    log.info("job %s (%s): %s", job_id, step, result.message)
    request: dict[str, Any] = {"jobId": job_id}
    # "outputVariables can be included only when there is no continuation token on the request"
    # (API reference, PutJobSuccessResult): a step that continues reports its outputs on its last call.
    if result.outputs and not result.continuation:
        request["outputVariables"] = result.outputs
    if result.continuation:
        # "When the action is complete, no continuation token should be supplied" (API reference,
        # PutJobSuccessResult): with one, CodePipeline invokes the function again later.
        request["continuationToken"] = result.continuation
    codepipeline.put_job_success_result(**request)
    return result


def _continuation(event: dict[str, Any]) -> str | None:
    """The token this action's previous call returned ("data.continuationToken"), if any."""
    return (event["CodePipeline.job"].get("data") or {}).get("continuationToken") or None


def _artifact_policy(event: dict[str, Any], artifact_s3: Callable[[dict[str, str]], Any]) -> dict | None:
    """The owner's stack policy from the source artifact's config.json (as ApplyStackPolicy applies it)."""
    data = event["CodePipeline.job"].get("data") or {}
    artifacts = data.get("inputArtifacts") or []
    if len(artifacts) != 1:
        raise StepError("the review needs exactly one input artifact (the stack's source), "
                        f"got {len(artifacts)}")
    location = artifacts[0]["location"]["s3Location"]
    s3 = artifact_s3(data.get("artifactCredentials") or {})
    archive = s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])["Body"].read()
    try:
        return stack_policy.desired_policy(archive)
    except stack_policy.StackPolicyError as exc:
        raise StepError(str(exc)) from exc


def _fail(codepipeline: Any, job_id: str, message: str) -> None:
    log.error("job %s failed: %s", job_id, message)
    codepipeline.put_job_failure_result(
        jobId=job_id, failureDetails={"type": "JobFailed", "message": message[:MAX_FAILURE_MESSAGE]})


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, StepError):
        return str(exc)
    return stack_policy._failure_message(exc)


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point (generator/function.py HANDLER)."""
    import boto3

    run(event, codepipeline=boto3.client("codepipeline"), cloudformation=boto3.client("cloudformation"),
        artifact_s3=stack_policy._artifact_client)
