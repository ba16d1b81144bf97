"""Each of changegate's cfn-lint rules fires on a template that breaks it, and stays quiet otherwise."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import naming
from generator.bootstrap.cfnlint_rules import lint, rules_dir

REPO = Path(__file__).resolve().parents[2]
GOOD = json.loads((REPO / "pipelines" / "pipelines.json").read_text("utf-8"))
# One stack pipeline is enough to break, and cfn-lint runs faster on a smaller template.
for _other in ("PipelineAlarms", "PipelineDatabase", "PipelineService"):
    del GOOD["Resources"][_other]


def _findings(doc: dict) -> list[tuple[str, str]]:
    return [(m.rule.id, m.message) for m in lint(json.dumps(doc), only_custom=True)]


def _stack_pipeline(doc: dict) -> dict:
    """The network pipeline: the plain shape (no window, approvals by risk)."""
    return doc["Resources"]["PipelineNetwork"]["Properties"]


def _break(edit) -> dict:
    doc = copy.deepcopy(GOOD)
    edit(doc)
    return doc


def _action(doc: dict, stage: int, index: int = 0) -> dict:
    return _stack_pipeline(doc)["Stages"][stage]["Actions"][index]


def _change(doc: dict, name: str) -> dict:
    """An action of the Change stage (stage 1), by its name."""
    return _action(doc, 1, naming.CHANGE_ACTIONS.index(name))


def test_the_generated_template_passes_every_rule() -> None:
    assert _findings(GOOD) == []


def _set(path_fn, key, value):
    def edit(doc):
        path_fn(doc)[key] = value
    return edit


def _delete(path_fn, key):
    def edit(doc):
        del path_fn(doc)[key]
    return edit


def _with_condition_rule(doc: dict) -> None:
    _stack_pipeline(doc)["Stages"][1]["BeforeEntry"] = {"Conditions": [{"Result": "SKIP", "Rules": [{
        "Name": "Check", "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "NotARule",
                                        "Version": "1"}, "Configuration": {}}]}]}


def _skip_condition(doc: dict) -> dict:
    return _stack_pipeline(doc)["Stages"][1]["BeforeEntry"]["Conditions"][0]


def _skip_rule(doc: dict) -> dict:
    return _skip_condition(doc)["Rules"][0]


def _skip_with_a_window(doc: dict) -> None:
    _skip_rule(doc)["RuleTypeId"]["Provider"] = "DeploymentWindow"
    _skip_rule(doc)["Configuration"] = {"Cron": "0 0 9-17 ? * MON-FRI *"}


def _v1(doc: dict) -> None:
    _stack_pipeline(doc)["PipelineType"] = "V1"
    del _stack_pipeline(doc)["ExecutionMode"]


def _plan(doc: dict) -> dict:
    return _change(doc, naming.PLAN_ACTION)["Configuration"]


def _approve(doc: dict) -> dict:
    return _change(doc, naming.APPROVE_ACTION)["Configuration"]


def _execute(doc: dict) -> dict:
    return _change(doc, naming.EXECUTE_ACTION)["Configuration"]


def _apply_policy(doc: dict) -> dict:
    return _change(doc, naming.APPLY_POLICY_ACTION)["Configuration"]


BROKEN = {
    "E9101 bad ActionMode": ("E9101", _set(_plan, "ActionMode",
                                           "CHANGE_SET_CREATE"), "CHANGE_SET_CREATE"),
    "E9102 missing StackName": ("E9102", _delete(_execute, "StackName"),
                                "'StackName'"),
    "E9102 missing ChangeSetName": ("E9102", _delete(_plan, "ChangeSetName"),
                                    "'ChangeSetName'"),
    "E9102 missing TemplatePath": ("E9102", _delete(_plan, "TemplatePath"),
                                   "'TemplatePath'"),
    "E9102 missing RoleArn": ("E9102", _delete(_plan, "RoleArn"),
                              "'RoleArn'"),
    "E9102 missing S3ObjectKey": ("E9102", _delete(lambda d: _action(d, 0)["Configuration"], "S3ObjectKey"),
                                  "'S3ObjectKey'"),
    "E9102 unknown key": ("E9102", _set(_plan, "StackPolicy", "x"),
                          "unknown configuration key 'StackPolicy'"),
    "E9102 bad capability": ("E9102", _set(_plan, "Capabilities",
                                           "CAPABILITY_IAM,CAPABILITY_ALL"), "CAPABILITY_ALL"),
    "E9102 bad change set name": ("E9102", _set(_execute, "ChangeSetName",
                                                "cs_#{codepipeline.PipelineExecutionId}"), "change set name"),
    "E9102 Lambda action without FunctionName": ("E9102", _delete(_apply_policy, "FunctionName"),
                                                 "'FunctionName'"),
    "E9102 Lambda action unknown key": ("E9102", _set(_apply_policy, "Payload", "{}"),
                                        "unknown configuration key 'Payload'"),
    "E9103 unknown provider": ("E9103", _set(lambda d: _change(d, naming.APPROVE_ACTION)["ActionTypeId"],
                                             "Provider", "Slack"), "'Slack'"),
    "E9103 unknown rule type": ("E9103", _with_condition_rule, "'NotARule'"),
    "E9104 long pipeline name": ("E9104", _set(_stack_pipeline, "Name", "p" * 120), "120 characters"),
    "E9104 long stage name": ("E9104", _set(lambda d: _stack_pipeline(d)["Stages"][1], "Name", "s" * 101),
                              "101 characters"),
    "E9104 bad action name": ("E9104", _set(lambda d: _change(d, naming.APPROVE_ACTION), "Name",
                                            "Approve it"), "must match"),
    "E9105 unclosed reference": ("E9105", _set(_approve, "CustomData",
                                               "commit #{variables.CommitId"), "unclosed"),
    "E9105 undeclared variable": ("E9105", _set(_approve, "CustomData",
                                                "#{variables.Commit}"), "'Commit'"),
    "E9105 unknown namespace": ("E9105", _set(_approve, "CustomData",
                                              "#{PlanVariables.Foo}"), "'PlanVariables'"),
    "E9105 bad codepipeline variable": ("E9105", _set(_execute, "ChangeSetName", "a-#{codepipeline.Id}"),
                                        "codepipeline has only"),
    "E9106 V2 features on V1": ("E9106", _v1, "needs PipelineType V2"),
    "E9107 entry condition result": ("E9107", _set(_skip_condition, "Result", "ROLLBACK"),
                                     "BeforeEntry condition result 'ROLLBACK'"),
    "E9107 skip with a rule that cannot skip": ("E9107", _skip_with_a_window, "not 'DeploymentWindow'"),
    "E9107 VariableCheck without Operator": ("E9107", _delete(lambda d: _skip_rule(d)["Configuration"],
                                                              "Operator"), "needs 'Operator'"),
    "E9107 VariableCheck bad operator": ("E9107", _set(lambda d: _skip_rule(d)["Configuration"], "Operator",
                                                       "NOT_EQUALS"), "'NOT_EQUALS'"),
    "E9107 VariableCheck undeclared variable": ("E9107", _set(lambda d: _skip_rule(d)["Configuration"],
                                                              "Variable", "#{variables.Commit}"), "'Commit'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_rule_fires_on_a_template_that_breaks_it(case: str) -> None:
    rule_id, edit, fragment = BROKEN[case]
    findings = _findings(_break(edit))
    assert any(rid == rule_id and fragment in message for rid, message in findings), findings


def test_every_rule_has_a_breaking_case() -> None:
    shipped = {p.stem for p in rules_dir().glob("[A-Za-z]*.py")}
    assert len(shipped) == 7
    assert {case[0] for case in BROKEN.values()} == {f"E910{i}" for i in range(1, 8)}


def test_namespace_of_an_earlier_action_resolves() -> None:
    doc = _break(_set(_approve, "CustomData", "#{SourceVariables.VersionId}"))
    assert _findings(doc) == []


def test_cfn_lint_command_line_loads_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(_break(_delete(_execute, "StackName"))))
    # cfn-lint's console script is cfnlint.runner:main; calling it through this Python needs no
    # script on PATH or beside the interpreter (no "not installed" skip, whatever PATH holds).
    command = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    result = subprocess.run([*command, "--append-rules", str(rules_dir()), "--", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "E9102" in result.stdout, result.stdout + result.stderr
