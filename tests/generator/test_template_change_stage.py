"""The stack pipelines' Change stage, checked against a model of CodePipeline's documented rules.

The model (``simulate``) runs queued executions of one stack over a pipeline's stages and actions
exactly as the template declares them, under the rules AWS documents:

- "Because each stage can process only one execution at a time, the stage is locked while in
  progress" and "A stage with an approval action is locked until the approval action is approved or
  rejected or has timed out" (CodePipeline user guide, concepts-how-it-works); in QUEUED mode
  "Executions are processed one by one in the order that they are queued".
- Actions of a stage run in RunOrder.
- CHANGE_SET_REPLACE creates the change set; "After you execute a change set, CloudFormation deletes
  any additional change sets that are associated with the stack" (CloudFormation user guide,
  using-cfn-updating-stacks-changesets-execute).
- A ``BeforeEntry`` condition whose rule fails with Result SKIP: "the stage status is Skipped, and
  the action status is Didn't Run" (CodePipeline user guide, stage-conditions).

Approvals are given as late as possible (only when nothing else can move), which is the worst case
for a queued execution: everything it can do while the one before it waits, it does.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from generator import naming
from generator.bootstrap import pipeline
from generator.bootstrap.template import render_template
from review import steps

REPO = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def doc() -> dict:
    return json.loads(render_template(REPO))


def _stack_pipelines(doc: dict) -> list[dict]:
    return [r["Properties"] for k, r in sorted(doc["Resources"].items())
            if r["Type"] == "AWS::CodePipeline::Pipeline" and k != "SyncPipeline"]


# ---- the model ----

@dataclass
class Run:
    id: str
    variables: dict[str, str]
    stage: int = 0
    action: int = 0
    inside: bool = False  # holds the lock of its current stage
    approved: bool = False
    seen: dict[str, object] = field(default_factory=dict)


def _resolve(text: str, run: Run) -> str:
    text = text.replace(naming.EXECUTION_ID_VARIABLE, run.id)
    return re.sub(r"#\{variables\.([A-Za-z0-9@_-]+)\}", lambda m: run.variables[m.group(1)], text)


def _rule_passes(rule: dict, run: Run) -> bool:
    """VariableCheck (rule-reference-VariableCheck): Variable <Operator> Value."""
    assert rule["RuleTypeId"]["Provider"] == "VariableCheck", rule
    config = rule["Configuration"]
    value, wanted = _resolve(config["Variable"], run), config["Value"]
    return {"EQ": value == wanted, "NE": value != wanted, "CONTAINS": wanted in value,
            "MATCHES": re.fullmatch(wanted, value) is not None}[config["Operator"]]


def _skips(stage: dict, run: Run) -> bool:
    for condition in (stage.get("BeforeEntry") or {}).get("Conditions", []):
        if not all(_rule_passes(rule, run) for rule in condition["Rules"]):
            assert condition["Result"] == "SKIP"
            return True
    return False


# A run variable of the model only: CloudFormation finds nothing to change for this run's change set.
EMPTY = "_empty"


def _step(config: dict) -> str | None:
    try:
        return json.loads(config.get("UserParameters", "{}")).get("Step")
    except ValueError:
        return None


def config_value(parameters: dict, key: str) -> str:
    return parameters[key]


def simulate(props: dict, run_variables: list[dict[str, str]]) -> list[Run]:
    """Run queued executions (in order) of one pipeline; return each run with what it saw."""
    defaults = {v["Name"]: v["DefaultValue"] for v in props.get("Variables", [])}
    runs = [Run(f"{i:08d}-0000-4000-8000-000000000000", {**defaults, **v})
            for i, v in enumerate(run_variables)]
    stages = [(s, sorted(s["Actions"], key=lambda a: a.get("RunOrder", 1))) for s in props["Stages"]]
    change_sets: set[str] = set()
    locks: dict[int, str] = {}
    while True:
        moved = False
        for run in runs:
            if run.stage == len(stages):
                continue
            stage, actions = stages[run.stage]
            if not run.inside:
                # FIFO: a stage is entered only when free and no earlier run still has to pass it.
                if run.stage in locks or any(r.stage <= run.stage for r in runs[:runs.index(run)]):
                    continue
                if _skips(stage, run):
                    run.seen.setdefault("skipped", []).append(stage["Name"])
                    run.stage += 1
                    moved = True
                    continue
                locks[run.stage], run.inside = run.id, True
            action = actions[run.action]
            kind = (action["ActionTypeId"]["Category"], action["ActionTypeId"]["Provider"])
            config = action.get("Configuration", {})
            if kind == ("Approval", "Manual"):
                if not run.approved:
                    continue
                run.seen["approved"] = True
            elif kind == ("Deploy", "CloudFormation") and config["ActionMode"] == "CHANGE_SET_REPLACE":
                change_sets.add(_resolve(config["ChangeSetName"], run))
                run.seen["planned"] = True
            elif kind == ("Invoke", "Lambda") and _step(config) == "review":
                name = _resolve(config_value(json.loads(config["UserParameters"]), "ChangeSetName"), run)
                run.seen["reviewed"] = name in change_sets
                if run.variables.get(EMPTY):
                    # review/steps.py: the empty change set is deleted, then StopPipelineExecution
                    # (abandon=False): "waits to stop the execution until all in-progress actions
                    # are completed ... The stage unlocks after the actions are complete"
                    # (pipelines-stop). This action completes; no later action starts.
                    change_sets.discard(name)
                    run.seen["stopped"] = "No changes"
                    del locks[run.stage]
                    run.stage, run.inside = len(stages), False
                    moved = True
                    continue
            elif kind == ("Invoke", "Lambda") and _step(config) == "check":
                name = _resolve(config_value(json.loads(config["UserParameters"]), "ChangeSetName"), run)
                run.seen["fresh at check"] = name in change_sets
                if name not in change_sets:  # the stale guard fails the action and the execution
                    del locks[run.stage]
                    run.stage, run.inside = len(stages), False
                    moved = True
                    continue
            elif kind == ("Deploy", "CloudFormation") and config["ActionMode"] == "CHANGE_SET_EXECUTE":
                name = _resolve(config["ChangeSetName"], run)
                run.seen["change set at execution"] = name in change_sets
                if name not in change_sets:
                    # ChangeSetNotFound: the action and the execution fail, the stage is released
                    del locks[run.stage]
                    run.stage, run.inside = len(stages), False
                    moved = True
                    continue
                change_sets.clear()  # executed, and every other change set of the stack deleted
            run.action += 1
            moved = True
            if run.action == len(actions):
                del locks[run.stage]
                run.stage, run.action, run.inside, run.approved = run.stage + 1, 0, False, False
        if moved:
            continue
        waiting = [r for r in runs if r.inside and not r.approved
                   and stages[r.stage][1][r.action]["ActionTypeId"]["Category"] == "Approval"]
        if not waiting:
            return runs
        # The oldest pending approval is decided, as late as possible: does what the approver is
        # asked to approve still exist when they decide?
        oldest = waiting[0]
        oldest.seen["change set at approval"] = any(oldest.id in name for name in change_sets)
        oldest.approved = True


def _four_stage_shape(props: dict) -> dict:
    """The shape before F4: Source, Plan, Approve, Execute, one action each."""
    old = copy.deepcopy(props)
    actions = {a["Name"]: a for a in old["Stages"][1]["Actions"]}

    def stage(name: str, action: str) -> dict:
        return {"Name": name, "Actions": [{**actions[action], "RunOrder": 1}]}

    old["Stages"] = [old["Stages"][0], stage("Plan", naming.PLAN_ACTION),
                     stage("Approve", naming.APPROVE_ACTION), stage("Execute", naming.EXECUTE_ACTION)]
    return old


SYNCED = {"CommitId": SHA, "CommitAuthor": "Ada", "CommitSubject": "Grow the database"}
SYNCED_2 = {"CommitId": SHA[::-1], "CommitAuthor": "Bob", "CommitSubject": "Tag the database"}


# ---- item 2 of issue 8 (F4): two queued executions of one stack keep their change sets ----

def test_two_queued_executions_each_approve_and_execute_their_own_change_set(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        first, second = simulate(props, [SYNCED, SYNCED_2])
        for run in (first, second):
            assert run.seen["change set at approval"] is True, (props["Name"], run.id, run.seen)
            assert run.seen["change set at execution"] is True, (props["Name"], run.id, run.seen)


def test_the_model_catches_the_four_stage_shape(doc: dict) -> None:
    """The same model over the old shape: the second execution plans while the first waits for its
    approval, and loses its change set when the first executes. (Without this the test above
    could pass on a model too weak to notice.)"""
    props = _four_stage_shape(_stack_pipelines(doc)[0])
    first, second = simulate(props, [SYNCED, SYNCED_2])
    assert first.seen["change set at execution"] is True
    assert second.seen["change set at approval"] is False
    assert second.seen["change set at execution"] is False


def test_change_stage_is_the_only_stage_after_source(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        assert [s["Name"] for s in props["Stages"]] == list(pipeline.STAGE_ORDER)
        assert props["ExecutionMode"] == "QUEUED"
        assert "BeforeEntry" not in props["Stages"][0]


# ---- issue 11 item 3: an empty change set asks nobody, and the next execution proceeds ----

def test_an_empty_change_set_stops_before_the_approval_and_the_next_run_proceeds(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        empty, changed = simulate(props, [{**SYNCED, EMPTY: "1"}, SYNCED_2])
        assert empty.seen == {"planned": True, "reviewed": True, "stopped": "No changes"}, empty.seen
        assert "approved" not in empty.seen and "change set at approval" not in empty.seen
        assert changed.seen["approved"] and changed.seen["fresh at check"] is True
        assert changed.seen["change set at execution"] is True


def test_every_execution_is_reviewed_and_checked_before_it_executes(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        for run in simulate(props, [SYNCED, SYNCED_2, SYNCED]):
            assert run.seen["reviewed"] is True and run.seen["fresh at check"] is True, run.seen


# ---- item 3: runs the sync did not start reach no approver ----

def test_a_run_without_the_sync_variables_skips_the_change_stage(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        # The run CodePipeline makes when it creates the pipeline, then a console "Release change"
        # (no variables either), then the sync's run.
        creation, release, synced = simulate(props, [{}, {}, SYNCED])
        for run in (creation, release):
            assert run.seen == {"skipped": [naming.CHANGE_STAGE]}, run.seen  # nothing planned or asked
        assert synced.seen["planned"] and synced.seen["change set at execution"] is True


def test_skip_condition_is_documented_shape(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        [condition] = props["Stages"][1]["BeforeEntry"]["Conditions"]
        assert condition["Result"] == "SKIP"
        [rule] = condition["Rules"]
        assert rule["RuleTypeId"] == {"Category": "Rule", "Owner": "AWS", "Provider": "VariableCheck",
                                      "Version": "1"}
        assert rule["Configuration"] == {"Variable": "#{variables.CommitId}", "Operator": "NE",
                                         "Value": naming.PIPELINE_VARIABLE_DEFAULT}
        commit = next(v for v in props["Variables"] if v["Name"] == "CommitId")
        assert commit["DefaultValue"] == naming.PIPELINE_VARIABLE_DEFAULT


@pytest.mark.parametrize("commit", [SHA, "-", "x" * naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitId"]])
def test_every_value_the_sync_sends_enters_the_stage(doc: dict, commit: str) -> None:
    """The sync sends "-" for an empty value (sync/pipelines.py EMPTY_VALUE), never the default."""
    props = _stack_pipelines(doc)[0]
    assert not _skips(props["Stages"][1], Run("x", {**SYNCED, "CommitId": commit}))


# ---- F15: the approval text after resolution ----

def _resolve_review(text: str, outputs: dict[str, str]) -> str:
    return re.sub(r"#\{Review\.([A-Za-z0-9@_-]+)\}", lambda m: outputs[m.group(1)], text)


@pytest.mark.parametrize("stack_name", ["acme-network", "S" + "s" * (naming.MAX_STACK_NAME - 1)])
def test_approval_text_fits_with_the_longest_summary_names_and_values(stack_name: str) -> None:
    """The review's summary gets exactly what is left of MAX_CUSTOM_DATA (an adopted stack may use 128)."""
    text = pipeline.approval_custom_data(stack_name)
    budget = pipeline.summary_budget(stack_name)
    assert budget >= pipeline.MIN_SUMMARY
    longest = Run("f" * naming.EXECUTION_ID_LENGTH,
                  {name: "v" * n for name, n in naming.PIPELINE_VARIABLE_MAX_LENGTHS.items()})
    assert set(naming.PIPELINE_VARIABLE_MAX_LENGTHS) == set(naming.PIPELINE_VARIABLES)
    resolved = _resolve_review(_resolve(text, longest), {"Summary": "r" * budget})
    assert "#{" not in resolved
    assert len(resolved) == pipeline.MAX_CUSTOM_DATA, len(resolved)  # not one character more, nor wasted
    assert resolved.startswith("r" * budget + " | Stack " + stack_name + ", commit ")


def test_generated_approval_text_is_the_review_then_the_commit(doc: dict) -> None:
    for props in _stack_pipelines(doc):
        actions = {a["Name"]: a for a in props["Stages"][1]["Actions"]}
        text = actions[naming.APPROVE_ACTION]["Configuration"]["CustomData"]
        assert len(text) <= 1000  # ActionConfigurationValue, before resolution
        assert text.startswith("#{Review.Summary} ")
        for variable in naming.PIPELINE_VARIABLES:
            assert f"#{{variables.{variable}}}" in text
        # the review is told the budget of this stack's text
        review = json.loads(actions[naming.REVIEW_ACTION]["Configuration"]["UserParameters"])
        assert review["SummaryMax"] == pipeline.summary_budget(review["StackName"])
        assert actions[naming.REVIEW_ACTION]["Namespace"] == naming.REVIEW_NAMESPACE


# ---- F16: the review link ----

def test_review_link_is_the_reviews_console_link(doc: dict) -> None:
    """The review step builds the link from the change set's ARN, so the partition's console host and
    both ARNs are in it (review/render.py console_link; tests/review/test_assess.py checks it)."""
    for props in _stack_pipelines(doc):
        approve = next(a for a in props["Stages"][1]["Actions"] if a["Name"] == naming.APPROVE_ACTION)
        assert approve["Configuration"]["ExternalEntityLink"] == "#{Review.ReviewLink}"
    assert "Mappings" not in doc  # no template-side host lookup any more


# ---- issue 11 item 5: a stack with a deployment window waits for it after the approvals ----

def test_a_stack_with_a_window_waits_for_it_between_the_approvals_and_the_check() -> None:
    """A stack whose settings carry a ``deployment_window`` (pipelines/config.yaml) gets the wait."""
    import dataclasses

    from generator.contract.config import DeploymentWindow
    from generator.contract.validate import validate_repository

    report = validate_repository(REPO, lint=False)
    stack = report.stacks["network"]
    assert pipeline.deployment_window(stack) is None  # the example gives network no window
    # a daily window (closed 14 hours at most): one wait covers it; a weekday window takes three
    # (tests/generator/test_settings_pipeline.py)
    settings = dataclasses.replace(stack.settings, deployment_window=DeploymentWindow(
        cron="* * 9-17 ? * * *", time_zone="Europe/Berlin"))
    windowed = dataclasses.replace(stack, settings=settings)
    actions = pipeline.change_actions("acme", windowed, execution_role_arn="role", topic_arn="topic",
                                      function_name="fn")
    order = [(a.Name, a.RunOrder) for a in actions]
    assert order == [("CreateChangeSet", 1), ("Review", 2), ("Approve", 3), ("SecondApproval", 3),
                     ("WaiveSecondApproval", 3), ("WaitForWindow", 4), ("CheckChangeSet", 5),
                     ("ApplyStackPolicy", 6), ("ExecuteChangeSet", 7), ("VerifyStackPolicy", 8)]
    wait = next(a for a in actions if a.Name == naming.WINDOW_ACTION)
    assert json.loads(wait.Configuration["UserParameters"]) == {
        "Step": "window", "Cron": "* * 9-17 ? * * *", "TimeZone": "Europe/Berlin"}
    plain = pipeline.change_actions("acme", stack, execution_role_arn="role", topic_arn="topic",
                                    function_name="fn")
    assert [a.Name for a in plain] == list(naming.CHANGE_ACTIONS)


def test_every_lambda_actions_parameters_fit_1000_characters_once_resolved() -> None:
    """ActionConfigurationValue: "Maximum length of 1000" (CodePipeline API reference), with the longest
    project, stack and pipeline names and the review's outputs at their longest."""
    import dataclasses

    from generator.contract.validate import validate_repository

    project = "p" * 20
    stack = validate_repository(REPO, lint=False).stacks["network"]
    longest = dataclasses.replace(stack, stack_name="S" * naming.MAX_STACK_NAME,
                                  pipeline_name="P" * naming.MAX_PIPELINE_NAME)
    execution = "f" * naming.EXECUTION_ID_LENGTH
    change_set = naming.change_set_name_for(project, execution)
    outputs = {
        "ChangeSetId": ("arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:changeSet/"
                        f"{change_set}/{execution}"),
        "StackStatus": "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "StackUpdated": "2026-12-02T06:00:00.123456+00:00", "RiskTier": "medium"}
    for text in (pipeline.review_parameters(project, longest), pipeline.check_parameters(project, longest),
                 pipeline.waive_parameters(longest)):
        resolved = _resolve_review(text.replace(naming.EXECUTION_ID_VARIABLE, execution), outputs)
        # the commit's author at its longest, made of the characters JSON must escape
        author = '"\\' * (naming.PIPELINE_VARIABLE_MAX_LENGTHS["CommitAuthor"] // 2)
        resolved = resolved.replace("#{variables.CommitAuthor}", author)
        assert "#{" not in resolved
        assert len(text) <= 1000 and len(resolved) <= 1000, (len(resolved), resolved)
        parameters = steps._with_author(resolved)  # as the steps function reads them
        assert parameters["Step"] in steps.STEPS
        assert parameters.get("CommitAuthor", author) == author
