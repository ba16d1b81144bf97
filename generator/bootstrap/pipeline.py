"""One change-set pipeline per stack: stage Source, then ONE stage Change (V2, QUEUED).

The Change stage's actions run in RunOrder (every Lambda action is the one steps function,
review/steps.py, told by its UserParameters which step it is):

    1 CreateChangeSet    CloudFormation CHANGE_SET_REPLACE, change set ``<project>-<execution id>``
    2 Review             Lambda: read and judge the change set, after detecting the drift of the
                         resources it modifies or removes (review/drift.py, bounded by the stack's
                         ``review.drift`` settings); its output variables (namespace ``Review``)
                         are the approval's text and link. An empty change set is deleted and the
                         execution stopped here: nobody is asked (decision 6)
    3 Approve            manual approval (e-mail via SNS, the console, or ``changegate approve``);
                         comments ``#{Review.Summary}`` plus the commit, link ``#{Review.ReviewLink}``
    3 SecondApproval     manual approval, the same text: a second person for high risk (every
                         change with ``approvals: always``, e-mailed then)
    3 WaiveSecondApproval Lambda: approves SecondApproval itself when the risk is not high and the
                         stack's ``approvals`` is ``risk``
   (4 WaitForWindow      Lambda: only for a stack with a ``deployment_window``: holds the execution
                         until the window opens. One action waits at most 23 h 30 min, so a window
                         closed longer gets as many in a row as cover it (WaitForWindow2, ...); the
                         last fails by itself saying when the window opens. Every later action
                         moves on by as many RunOrders)
    4 CheckChangeSet     Lambda: the stale guard, the change set is still the reviewed one and
                         executable, and the stack unchanged since the review; a high-risk change
                         approved by two different people, neither of them the function nor the
                         commit's author
    5 ApplyStackPolicy   Lambda: the owner's stack policy on the existing stack, before it changes
    6 ExecuteChangeSet   CloudFormation CHANGE_SET_EXECUTE of that same change set
    7 VerifyStackPolicy  Lambda: the policy again (a new stack exists only now), then GetStackPolicy
                         must return exactly it, or the action fails

Why the guard runs before ApplyStackPolicy rather than after it: ApplyStackPolicy is changegate's
own SetStackPolicy call, which changes neither the change set nor the stack's resources, and AWS
does not document whether SetStackPolicy moves the stack's LastUpdatedTime; after it, the guard
would depend on that. Between the guard and ExecuteChangeSet only that call runs, seconds apart,
inside the stage the execution holds locked (no other execution of this pipeline can plan or
execute meanwhile).

Why one stage (aws-fidelity notes, F4): "Because each stage can process only one execution at a
time, the stage is locked while in progress" and "A stage with an approval action is locked until
the approval action is approved or rejected or has timed out" (CodePipeline user guide,
concepts-how-it-works); "After you execute a change set, CloudFormation deletes any additional
change sets that are associated with the stack" (CloudFormation user guide,
using-cfn-updating-stacks-changesets-execute). With plan, approval and execution in separate
stages, a queued execution would plan while the one before it waits for approval and lose its
change set when that one executes. In one stage it plans only after the previous one is done.

Decision 5: QUEUED mode and one change set name per execution, so the change set an approver
reviewed is exactly the one that executes. The sync starts each pipeline itself (decision 4): the
S3 source never polls, and the sync sets the commit variables approvers see.

Runs the sync did not start (the run CodePipeline makes when it creates a pipeline, a console
"Release change") carry the variables' default and skip the Change stage (``skip_unsynced_runs``).
"""

from __future__ import annotations

import json

from troposphere.codepipeline import (
    Actions,
    ActionTypeId,
    ArtifactStore,
    BeforeEntryConditions,
    Condition,
    EncryptionKey,
    InputArtifacts,
    OutputArtifacts,
    Pipeline,
    RuleDeclaration,
    RuleTypeId,
    Stages,
    VariableDeclaration,
)

from generator import logical_ids, naming
from generator.contract.config import APPROVALS_ALWAYS, DEFAULT_DRIFT_TIMEOUT_SECONDS, DeploymentWindow
from generator.contract.stacks import LoadedStack
from review import window as review_window

SOURCE_ARTIFACT = "SourceArtifact"
STAGE_ORDER = (naming.SOURCE_STAGE, naming.CHANGE_STAGE)
VARIABLE_DEFAULT = naming.PIPELINE_VARIABLE_DEFAULT
VARIABLE_DESCRIPTIONS = {
    "CommitId": "Commit the sync uploaded this stack from",
    "CommitAuthor": "Author of that commit",
    "CommitSubject": "First line of that commit's message",
}
# The approval text must stay within this many characters once CodePipeline has put the variables
# in. CodePipeline documents 1,000 characters per action configuration value without saying whether
# that applies before or after resolution (aws-fidelity notes, F15); 500 leaves room either way, and
# naming.PIPELINE_VARIABLE_MAX_LENGTHS (which the sync applies) keeps the worst case under it.
MAX_CUSTOM_DATA = 500
# The Lambda invoke action's UserParameters: which stack, and before or after ExecuteChangeSet.
PHASE_BEFORE = "before"
PHASE_AFTER = "after"
# ... or which step of review/steps.py (a test keeps these equal to review.steps.STEP_*).
STEP_REVIEW = "review"
STEP_WAIVE = "waive"
STEP_CHECK = "check"
STEP_WINDOW = "window"


def artifact_store(artifact_bucket, key_arn) -> ArtifactStore:
    return ArtifactStore(Type="S3", Location=artifact_bucket,
                         EncryptionKey=EncryptionKey(Type="KMS", Id=key_arn))


def pipeline_variables() -> list[VariableDeclaration]:
    return [VariableDeclaration(Name=name, DefaultValue=VARIABLE_DEFAULT,
                                Description=VARIABLE_DESCRIPTIONS[name])
            for name in naming.PIPELINE_VARIABLES]


# The Review action's output variables the other actions read (review/steps.py OUT_*; a test
# keeps them equal).
REVIEW_SUMMARY = f"#{{{naming.REVIEW_NAMESPACE}.Summary}}"
REVIEW_LINK = f"#{{{naming.REVIEW_NAMESPACE}.ReviewLink}}"
# The review's summary never gets fewer characters than this (a stack name near 128 characters
# with every commit variable at its longest still leaves more).
MIN_SUMMARY = 60


def approval_custom_data(stack_name: str) -> str:
    """What the approver reads in the e-mail and the console: the review's one line, then the commit.

    The review's summary comes first (risk, counts, replacements, data loss, broadening,
    protection), so a cut-off e-mail preview still shows it. CodePipeline resolves
    ``#{Review.Summary}`` before it shows the text; :func:`summary_budget` is what the summary may
    take so that the resolved text stays within MAX_CUSTOM_DATA.
    """
    commit, author, subject = (f"#{{variables.{v}}}" for v in naming.PIPELINE_VARIABLES)
    return f"{REVIEW_SUMMARY} | Stack {stack_name}, commit {commit} by {author}: {subject}"


def summary_budget(stack_name: str) -> int:
    """How long the review's summary may be for ``stack_name``'s approval text to fit MAX_CUSTOM_DATA.

    The rest of the text resolves to at most its length with every commit variable at its longest
    (naming.PIPELINE_VARIABLE_MAX_LENGTHS, which the sync applies).
    """
    rest = approval_custom_data(stack_name).replace(REVIEW_SUMMARY, "")
    for name, longest in naming.PIPELINE_VARIABLE_MAX_LENGTHS.items():
        rest = rest.replace(f"#{{variables.{name}}}", "x" * longest)
    budget = MAX_CUSTOM_DATA - len(rest)
    if budget < MIN_SUMMARY:
        raise ValueError(f"stack name {stack_name!r} leaves the review summary only {budget} characters")
    return budget


def skip_unsynced_runs() -> BeforeEntryConditions:
    """The Change stage's entry condition: runs the sync did not start skip the stage.

    CodePipeline runs a pipeline once when it creates it, and anyone may "Release change" in the
    console; neither sets the commit variables, so ``CommitId`` keeps its default. Such a run must
    not plan nor reach an approver (the CleverTap team's first wish). The sync always sets
    ``CommitId`` to a commit.

    From the CodePipeline user guide (stage-conditions): an Entry condition allows the results
    "Fail or Skip"; "For Entry conditions that use the Skip result ... only the `LambdaInvoke` and
    `VariableCheck` rules are supported"; "When a stage is skipped, the stage status is Skipped,
    and the action status is Didn't Run"; the result engages only when the condition fails, i.e.
    when a rule fails. The VariableCheck rule (rule-reference-VariableCheck) compares ``Variable``
    with ``Value`` by ``Operator`` (EQ, CONTAINS, MATCHES, NE): here ``CommitId NE "unknown"``
    passes for a synced run and fails, so skips, for any other. Nothing plans, nothing fails.
    """
    rule = RuleDeclaration(
        Name=naming.SKIP_RULE,
        RuleTypeId=RuleTypeId(Category="Rule", Owner="AWS", Provider="VariableCheck", Version="1"),
        Configuration={"Variable": "#{variables.CommitId}", "Operator": "NE", "Value": VARIABLE_DEFAULT})
    return BeforeEntryConditions(Conditions=[Condition(Result="SKIP", Rules=[rule])])


def _action(name: str, category: str, provider: str, configuration: dict, run_order: int = 1,
            **extra) -> Actions:
    return Actions(Name=name, ActionTypeId=ActionTypeId(Category=category, Owner="AWS", Provider=provider,
                                                        Version="1"),
                   Configuration=configuration, RunOrder=run_order, **extra)


def _json(parameters: dict) -> str:
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"))


def stack_policy_parameters(stack_name: str, phase: str) -> str:
    """The Lambda action's UserParameters (review/stack_policy.py reads them)."""
    return _json({"Phase": phase, "StackName": stack_name})


def review_parameters(project: str, stack: LoadedStack) -> str:
    """The Review action's UserParameters (review/steps.py ``review_step``).

    The pipeline's name and the execution id let the step stop its own execution when the change
    set is empty (the Lambda event names neither); ``SummaryMax`` keeps the approval text in bounds;
    ``DriftDetect`` and ``DriftTimeout`` are the stack's ``review.drift`` settings (detect the drift
    of the resources the change touches before the approval, for at most that many seconds), written
    only when they differ from the step's defaults (review/steps.py ``_drift_settings``);
    ``StatefulTypes`` the stack's ``review.stateful_types``, only when it has any.
    """
    settings = stack.settings
    # Only what differs from the step's defaults (detect, 300 s): every byte repeats once per stack
    # in the bootstrap template, whose 1 MB limit sets how many stacks one repository may hold.
    drift = {"DriftDetect": False} if not settings.drift_detect else {}
    if settings.drift_timeout_seconds != DEFAULT_DRIFT_TIMEOUT_SECONDS:
        drift["DriftTimeout"] = settings.drift_timeout_seconds
    # the owners' extra stateful types (review.stateful_types), only when there are any
    stateful = {"StatefulTypes": list(settings.stateful_types)} if settings.stateful_types else {}
    return _json({"Step": STEP_REVIEW, "StackName": stack.stack_name,
                  "ChangeSetName": naming.change_set_name(project), "PipelineName": stack.pipeline_name,
                  "ExecutionId": naming.EXECUTION_ID_VARIABLE,
                  "SummaryMax": summary_budget(stack.stack_name), **drift, **stateful})


def waive_parameters(stack: LoadedStack) -> str:
    """The waiver's UserParameters: whose SecondApproval, the review's risk tier and the stack's
    ``approvals`` setting (with ``always`` the step never waives)."""
    return _json({"Step": STEP_WAIVE, "PipelineName": stack.pipeline_name,
                  "ExecutionId": naming.EXECUTION_ID_VARIABLE,
                  "RiskTier": f"#{{{naming.REVIEW_NAMESPACE}.RiskTier}}",
                  "Approvals": stack.settings.approvals})


def deployment_window(stack: LoadedStack) -> DeploymentWindow | None:
    """The stack's deployment window (pipelines/config.yaml ``deployment_window``: cron and time zone,
    CodePipeline's DeploymentWindow semantics, checked by validate), or None: no wait."""
    return stack.settings.deployment_window


def window_parameters(window: DeploymentWindow, place: int = 1, total: int = 1) -> str:
    parameters = {"Step": STEP_WINDOW, "Cron": window.cron, "TimeZone": window.time_zone}
    if total > 1:
        parameters["Wait"] = f"{place}/{total}"
    return _json(parameters)


def window_action_name(place: int) -> str:
    """WaitForWindow, WaitForWindow2, ...: the k-th wait of a chain."""
    return naming.WINDOW_ACTION if place == 1 else f"{naming.WINDOW_ACTION}{place}"


def window_actions(window: DeploymentWindow | None, function_name) -> list[tuple[str, dict]]:
    """(name, configuration) of each WaitForWindow action: none without a window, else as many as
    cover the window's longest closed stretch (review/window.py wait_actions; a Lambda action may
    wait at most 24 hours, so a weekday window, closed for 64 hours over the weekend, takes three)."""
    if window is None:
        return []
    total = review_window.wait_actions(review_window.Window(window.cron, window.time_zone))
    return [(window_action_name(k), {"FunctionName": function_name,
                                     "UserParameters": window_parameters(window, k, total)})
            for k in range(1, total + 1)]


def second_approval_configuration(stack: LoadedStack, topic_arn) -> dict:
    """SecondApproval's text and link; its e-mail only for a stack that always needs two people.

    With ``approvals: risk`` most changes are waived to one approver seconds later, and a high-risk
    change's first request already says "Risk HIGH": no second e-mail. With ``always`` the second
    approval is never waived, so it is announced like the first and says why it is needed.
    """
    if stack.settings.approvals == APPROVALS_ALWAYS:
        return {"NotificationArn": topic_arn,
                "CustomData": f"Second person (this stack always needs two): {REVIEW_SUMMARY}",
                "ExternalEntityLink": REVIEW_LINK}
    return {"CustomData": f"Second person for high risk: {REVIEW_SUMMARY}", "ExternalEntityLink": REVIEW_LINK}


# CheckChangeSet's UserParameters end with the commit's author after this marker (review/steps.py
# AUTHOR_MARKER; a test keeps them equal): CodePipeline puts the variable's raw text there, and a
# " or \ in a git author's name would make the JSON unreadable, so the step reads what follows the
# marker as plain text.
AUTHOR_MARKER = ',"CommitAuthor":"'
COMMIT_AUTHOR = "#{variables.CommitAuthor}"
# "Maximum length of 1000" for every action configuration value (CodePipeline API reference,
# ActionDeclaration), which CodePipeline does not document as applying before or after variables
# resolve (aws-fidelity notes, F15): check_parameters must fit once they have.
MAX_CONFIGURATION_VALUE = 1000
# What each variable in the check's parameters resolves to at the longest.
_LONGEST_STACK_STATUS = len("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
_LONGEST_TIME = len("2026-12-02T08:00:00.123456+00:00")  # StackUpdated: datetime.isoformat()
_LONGEST_ARN_PREFIX = len("arn:aws-us-gov:cloudformation:ap-southeast-5:123456789012:changeSet/")


def resolved_length(text: str, project: str) -> int:
    """How long ``text`` (an action configuration value) can be once CodePipeline resolves its variables."""
    change_set = naming.change_set_name(project).replace(naming.EXECUTION_ID_VARIABLE,
                                                           "x" * naming.EXECUTION_ID_LENGTH)
    review = naming.REVIEW_NAMESPACE
    longest = {
        naming.EXECUTION_ID_VARIABLE: naming.EXECUTION_ID_LENGTH,
        f"#{{{review}.ChangeSetId}}": _LONGEST_ARN_PREFIX + len(change_set) + 1 + naming.EXECUTION_ID_LENGTH,
        f"#{{{review}.StackStatus}}": _LONGEST_STACK_STATUS,
        f"#{{{review}.StackUpdated}}": _LONGEST_TIME,
        f"#{{{review}.RiskTier}}": max(len(t) for t in ("low", "medium", "high")),
        **{f"#{{variables.{name}}}": length for name, length in naming.PIPELINE_VARIABLE_MAX_LENGTHS.items()},
    }
    for variable, length in longest.items():
        text = text.replace(variable, "x" * length)
    return len(text)


def check_parameters(project: str, stack: LoadedStack) -> str:
    """The stale guard's UserParameters: what the review saw, from its output variables, and the
    approval rule (whose approvals to read, the risk tier, the function's own role to refuse, the
    commit's author, last and as plain text: AUTHOR_MARKER)."""
    review = naming.REVIEW_NAMESPACE
    text = _json({"Step": STEP_CHECK, "StackName": stack.stack_name,
                  "ChangeSetName": naming.change_set_name(project),
                  "ChangeSetId": f"#{{{review}.ChangeSetId}}", "StackStatus": f"#{{{review}.StackStatus}}",
                  "StackUpdated": f"#{{{review}.StackUpdated}}",
                  "PipelineName": stack.pipeline_name, "ExecutionId": naming.EXECUTION_ID_VARIABLE,
                  # When two approvals are needed (review/approvals.py REQUIREMENTS): pipelines/config.yaml
                  # approvals, "risk" (high-risk changes) or "always"
                  "RiskTier": f"#{{{review}.RiskTier}}", "Approvals": stack.settings.approvals,
                  "FunctionRole": naming.role_name(project, naming.STEPS_PURPOSE)})
    text = f'{text[:-1]}{AUTHOR_MARKER}{COMMIT_AUTHOR}"}}'
    if resolved_length(text, project) > MAX_CONFIGURATION_VALUE:
        raise ValueError(f"stack {stack.stack_name!r}: CheckChangeSet's parameters could exceed "
                         f"{MAX_CONFIGURATION_VALUE} characters once resolved")
    return text


def change_actions(project: str, stack: LoadedStack, *, execution_role_arn, topic_arn,
                   function_name) -> list[Actions]:
    """The Change stage's actions (naming.CHANGE_ACTIONS), RunOrder 1 to 7 (naming.CHANGE_RUN_ORDER)."""
    settings = stack.settings
    change_set = naming.change_set_name(project)
    source = [InputArtifacts(Name=SOURCE_ARTIFACT)]
    plan_configuration = {
        "ActionMode": "CHANGE_SET_REPLACE",
        "StackName": stack.stack_name,
        "ChangeSetName": change_set,
        "TemplatePath": f"{SOURCE_ARTIFACT}::{naming.ARCHIVE_TEMPLATE}",
        # Parameters and Tags. The sync also writes the owner's StackPolicy into this file, but
        # CreateChangeSet has no stack-policy parameter and nothing documents that the action
        # applies it in change-set modes (F6): ApplyStackPolicy and VerifyStackPolicy do.
        "TemplateConfiguration": f"{SOURCE_ARTIFACT}::{naming.ARCHIVE_CONFIG}",
        "RoleArn": execution_role_arn,
    }
    if settings.capabilities:
        plan_configuration["Capabilities"] = ",".join(settings.capabilities)
    window = deployment_window(stack)
    waits = window_actions(window, function_name)
    after_approvals = naming.CHANGE_RUN_ORDER[naming.APPROVE_ACTION]
    # With a window, the WaitForWindow actions take the RunOrders after the approvals and the rest
    # move on by as many.
    order = {name: run + len(waits) if run > after_approvals else run
             for name, run in naming.CHANGE_RUN_ORDER.items()}
    return [
        _action(naming.PLAN_ACTION, "Deploy", "CloudFormation", plan_configuration,
                order[naming.PLAN_ACTION], InputArtifacts=source),
        _action(naming.REVIEW_ACTION, "Invoke", "Lambda",
                {"FunctionName": function_name, "UserParameters": review_parameters(project, stack)},
                order[naming.REVIEW_ACTION], InputArtifacts=source, Namespace=naming.REVIEW_NAMESPACE),
        # The review link: the console's page of this change set by its ARNs, which the review
        # knows (review/render.py says why that page and not a stored one or a presigned URL).
        _action(naming.APPROVE_ACTION, "Approval", "Manual",
                {"NotificationArn": topic_arn,
                 "CustomData": approval_custom_data(stack.stack_name),
                 "ExternalEntityLink": REVIEW_LINK},
                order[naming.APPROVE_ACTION], TimeoutInMinutes=settings.approval_timeout_minutes),
        _action(naming.SECOND_APPROVAL_ACTION, "Approval", "Manual",
                second_approval_configuration(stack, topic_arn),
                order[naming.SECOND_APPROVAL_ACTION], TimeoutInMinutes=settings.approval_timeout_minutes),
        _action(naming.WAIVE_ACTION, "Invoke", "Lambda",
                {"FunctionName": function_name, "UserParameters": waive_parameters(stack)},
                order[naming.WAIVE_ACTION]),
        *(_action(name, "Invoke", "Lambda", configuration, after_approvals + k)
          for k, (name, configuration) in enumerate(waits, start=1)),
        _action(naming.CHECK_ACTION, "Invoke", "Lambda",
                {"FunctionName": function_name, "UserParameters": check_parameters(project, stack)},
                order[naming.CHECK_ACTION]),
        _action(naming.APPLY_POLICY_ACTION, "Invoke", "Lambda",
                {"FunctionName": function_name,
                 "UserParameters": stack_policy_parameters(stack.stack_name, PHASE_BEFORE)},
                order[naming.APPLY_POLICY_ACTION], InputArtifacts=source),
        # RoleArn "is not applied when executing a change set" (CloudFormation action reference).
        _action(naming.EXECUTE_ACTION, "Deploy", "CloudFormation",
                {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack.stack_name,
                 "ChangeSetName": change_set},
                order[naming.EXECUTE_ACTION]),
        _action(naming.VERIFY_POLICY_ACTION, "Invoke", "Lambda",
                {"FunctionName": function_name,
                 "UserParameters": stack_policy_parameters(stack.stack_name, PHASE_AFTER)},
                order[naming.VERIFY_POLICY_ACTION], InputArtifacts=source),
    ]


def stack_pipeline(project: str, stack: LoadedStack, *, role_arn, artifact_bucket, key_arn, source_bucket,
                   execution_role_arn, topic_arn, function_name) -> Pipeline:
    source = _action(
        naming.SOURCE_ACTION_NAME, "Source", "S3",
        {"S3Bucket": source_bucket, "S3ObjectKey": naming.source_object_key(stack.name),
         # The sync starts the pipeline, pinned to the version it uploaded (decision 4).
         "PollForSourceChanges": "false"},
        OutputArtifacts=[OutputArtifacts(Name=SOURCE_ARTIFACT)], Namespace="SourceVariables")
    stages = [
        Stages(Name=naming.SOURCE_STAGE, Actions=[source]),
        Stages(Name=naming.CHANGE_STAGE, BeforeEntry=skip_unsynced_runs(),
               Actions=change_actions(project, stack, execution_role_arn=execution_role_arn,
                                      topic_arn=topic_arn, function_name=function_name)),
    ]
    return Pipeline(
        logical_ids.stack_pipeline(stack.name),
        Name=stack.pipeline_name,
        PipelineType="V2",
        ExecutionMode="QUEUED",
        RoleArn=role_arn,
        ArtifactStore=artifact_store(artifact_bucket, key_arn),
        Variables=pipeline_variables(),
        Stages=stages,
    )
