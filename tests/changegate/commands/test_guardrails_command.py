"""`changegate guardrails`: the SCP, offline; json is the document alone; config errors exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from changegate.cli import main
from generator.bootstrap import guardrails
from generator.contract.config import load_config

BREAK_GLASS = "arn:aws:iam::111122223333:role/BreakGlass"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["guardrails", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_json_prints_exactly_the_scp_document(repo: Path, capsys):
    code, out, err = run(capsys, "--root", str(repo), "--format", "json", "--break-glass-role", BREAK_GLASS)
    assert code == 0 and err == ""
    assert out.endswith("}\n") and out.count("\n") == 1  # one compact line: nothing else to strip
    document = json.loads(out)
    expected = guardrails.service_control_policy(load_config(repo), break_glass_role_arn=BREAK_GLASS)
    assert document == expected.document
    assert len(out.strip()) <= guardrails.MAX_SCP_CHARS
    # the adopted stack of the fixture's config is named, the prefix covers the rest
    stacks = next(s for s in document["Statement"] if s["Sid"] == "OnlyChangegateChanges")["Resource"]
    assert "arn:aws:cloudformation:*:*:stack/LegacyNetwork/*" in stacks
    assert "arn:aws:cloudformation:*:*:stack/acme-*/*" in stacks


def test_text_explains_where_to_attach_it_and_shows_the_same_document(repo: Path, capsys):
    code, out, _ = run(capsys, "--root", str(repo), "--break-glass-role", BREAK_GLASS)
    assert code == 0
    assert "AWS Organizations" in out and "organizational unit" in out
    assert "management account" in out and "service-linked roles" in out
    assert f"break-glass\nrole ({BREAK_GLASS})" in out and "LegacyNetwork" in out
    assert "acme-changegate-guardrail" in out  # the managed policy to attach inside the account
    document = json.loads(out[out.index("\n{") + 1:])
    assert document == guardrails.service_control_policy(load_config(repo),
                                                         break_glass_role_arn=BREAK_GLASS).document


def test_text_says_what_is_not_covered(repo: Path, capsys):
    code, out, _ = run(capsys, "--root", str(repo))
    assert code == 0
    assert "Not covered: no break-glass role" in out
    assert "Not covered: PutApprovalResult is not restricted: pipelines/config.yaml names no approvers" in out


def test_the_example_repository(example_root: Path, capsys):
    code, out, _ = run(capsys, "--root", str(example_root), "--format", "json")
    assert code == 0
    sids = [s["Sid"] for s in json.loads(out)["Statement"]]
    assert "OnlyApproversApprove" in sids and "OnlyBreakGlassChangesTheKey" in sids


def test_a_missing_config_exits_2_with_the_message(tmp_path: Path, capsys):
    code, out, err = run(capsys, "--root", str(tmp_path), "--format", "json")
    assert code == 2 and out == ""
    assert err.startswith("changegate: pipelines/config.yaml: not found under")


def test_an_invalid_config_exits_2_naming_the_key(repo: Path, capsys):
    config = repo / "pipelines" / "config.yaml"
    config.write_text(config.read_text().replace("project: acme", "project: Acme-Prod"))
    code, out, err = run(capsys, "--root", str(repo))
    assert code == 2 and out == ""
    assert "pipelines/config.yaml is invalid" in err and "project" in err


@pytest.mark.parametrize("bad", ["arn:aws:iam::111122223333:user/alice", "BreakGlass"])
def test_a_bad_break_glass_role_exits_2(repo: Path, capsys, bad: str):
    code, out, err = run(capsys, "--root", str(repo), "--break-glass-role", bad)
    assert code == 2 and out == ""
    assert err.startswith("changegate: --break-glass-role:") and "not an IAM role ARN" in err


def test_too_many_adopted_stacks_fail_naming_the_limit(repo: Path, capsys):
    lines = [f"  legacy{i:02d}:\n    stack_name: LegacyStack{i:02d}\n" for i in range(80)]
    config = repo / "pipelines" / "config.yaml"
    config.write_text(config.read_text() + "".join(lines))
    for i in range(80):
        (repo / "stacks" / f"legacy{i:02d}").mkdir()
    code, out, err = run(capsys, "--root", str(repo), "--format", "json")
    assert code == 1 and out == ""
    assert "over the AWS Organizations limit for an SCP of 5,120" in err
    assert "81 adopted stack names" in err


def test_the_command_is_listed(capsys):
    assert main(["--help"]) == 0
    assert "guardrails" in capsys.readouterr().out
