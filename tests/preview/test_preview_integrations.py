"""The pull-request workflow and the pre-commit hooks: no AWS credentials, the right commands."""

from __future__ import annotations

from pathlib import Path

import yaml

from changegate.cli import main
from preview.render import MARKER
from tests.preview.git_fixtures import commit, data_template, init

REPO = Path(__file__).resolve().parents[2]


def _workflow() -> dict:
    return yaml.safe_load((REPO / ".github/workflows/preview.yml").read_text("utf-8"))


def test_workflow_runs_on_pull_requests_with_least_permissions():
    workflow = _workflow()
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on == true
    assert set(triggers) == {"pull_request"}  # never pull_request_target: fork code + write token
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_workflow_has_full_history_and_no_aws_credentials():
    text = (REPO / ".github/workflows/preview.yml").read_text("utf-8")
    steps = _workflow()["jobs"]["preview"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    assert "aws-actions/configure-aws-credentials" not in text
    assert "AWS_ACCESS_KEY_ID" not in text and "id-token" not in text


def test_workflow_keeps_one_comment_by_the_marker_the_preview_writes():
    steps = _workflow()["jobs"]["preview"]["steps"]
    run = next(s["run"] for s in steps if s.get("id") == "preview")
    assert "changegate preview --base" in run and "--format markdown" in run
    script = next(s["with"]["script"] for s in steps
                  if s.get("uses", "").startswith("actions/github-script"))
    assert MARKER in script and "updateComment" in script and "createComment" in script


def test_pre_commit_hooks_offer_validate_and_preview():
    hooks = {h["id"]: h for h in
             yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert hooks["changegate-validate"]["entry"] == "changegate validate"
    assert hooks["changegate-preview"]["entry"].startswith("changegate preview")
    assert all(h["pass_filenames"] is False and h["language"] == "python"
               for h in hooks.values())


def test_the_hook_entry_reports_risk_without_failing(tmp_path, capsys):
    root = tmp_path / "repo"
    base = init(root, {"stacks/data/template.json": data_template()})
    template = data_template()
    template["Resources"]["Bucket"]["Properties"]["BucketName"] = "acme-data-v2"
    commit(root, {"stacks/data/template.json": template})
    hook = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))[1]
    argv = [*hook["entry"].split()[1:], "--base", base, "--root", str(root)]
    assert main(argv) == 0
    assert "replacement=True" in capsys.readouterr().out
    assert main(["preview", "--base", base, "--root", str(root)]) == 3
