"""`changegate validate`: exit codes 0/1/2, text and JSON output, no traceback, progress."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from changegate.cli import main
from changegate.progress import Progress
from generator.errors import ConfigError

PROBLEM_KEYS = {"file", "line", "key", "check", "message", "severity", "hint", "stack"}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def add(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


def test_clean_repository_exits_0(minimal_repo, capsys):
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint")
    assert code == 0
    assert out.strip() == "ok: 1 stacks checked, cfn-lint skipped; 0 errors, 0 warnings"


def test_example_repository_exits_0_with_cfn_lint(example_root, capsys):
    code, out, _ = run(capsys, "--root", str(example_root))
    assert code == 0
    assert "ok: 4 stacks checked, 4 linted with cfn-lint; 0 errors, 0 warnings" in out


def test_warnings_are_shown_and_exit_0(minimal_repo, capsys):
    add(minimal_repo, {"stacks/README.md": "x"})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint")
    assert code == 0
    assert "stacks/README.md: warning: a file directly under stacks/ is ignored" in out
    assert "0 errors, 1 warnings" in out


def test_problems_exit_1_with_location_and_hint(minimal_repo, capsys):
    add(minimal_repo, {"stacks/app/config.json": '{\n  "Parameters": {\n    "topicname": "x"\n  }\n}\n'})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint")
    assert code == 1
    assert ("stacks/app/config.json:3 [Parameters.topicname]: error: parameter 'topicname' is not "
            "declared in stacks/app/template.yaml\n    hint: did you mean 'TopicName'?") in out
    assert out.rstrip().endswith("FAILED: 1 stacks checked, cfn-lint skipped; 1 errors, 0 warnings")


def test_json_output_shape(minimal_repo, capsys):
    add(minimal_repo, {"stacks/other/template.yaml": "- x\n", "stacks/README.md": "x"})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"ok", "stacks", "linted", "errors", "warnings", "problems"}
    assert (data["ok"], data["stacks"], data["linted"], data["errors"], data["warnings"]) == \
        (False, ["app", "other"], [], 1, 1)
    assert all(set(p) == PROBLEM_KEYS for p in data["problems"])
    assert {(p["check"], p["severity"], p["stack"]) for p in data["problems"]} == \
        {("template-type", "error", "other"), ("stacks-stray-file", "warning", None)}


def test_two_broken_stacks_are_both_reported(minimal_repo, capsys):
    add(minimal_repo, {"stacks/one/template.yaml": "Resources: {}\n", "stacks/two/template.yaml": ""})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint", "--format", "json")
    assert code == 1
    assert sorted((p["stack"], p["check"]) for p in json.loads(out)["problems"]) == \
        [("one", "template-no-resources"), ("two", "file-empty")]


def test_stack_option_restricts_the_check(minimal_repo, capsys):
    add(minimal_repo, {"stacks/bad/template.yaml": "- x\n", "stacks/good/template.yaml":
                       "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--no-lint", "--stack", "good", "--stack", "app")
    assert code == 0
    assert "ok: 2 stacks checked" in out


def test_unknown_stack_exits_2(minimal_repo, capsys):
    code, _out, err = run(capsys, "--root", str(minimal_repo), "--no-lint", "--stack", "nope")
    assert code == 2
    assert err.strip() == "changegate: no such stack: nope (stacks: app)"


@pytest.mark.parametrize(("config", "fragment"), [
    ("project: demo\nrepository:\n  name: acme/x\naprovers: []\n",
     "pipelines/config.yaml:4 [aprovers]: error: unknown key 'aprovers' in the top level"),
    ("project: demo\nrepository:\n  name: acme/x\nstacks:\n  ap: {}\n",
     "stacks.ap names no folder under stacks/\n    hint: did you mean 'app'?"),
    ("project: demo\nrepository:\n  name: acme/x\nstacks:\n  app:\n    stack_policy: ../x.json\n",
     "'../x.json' is outside pipelines/"),
    ("project: demo\n", "the top level is missing a required key: 'repository'"),
])
def test_config_errors_exit_2(minimal_repo, capsys, config, fragment):
    add(minimal_repo, {"pipelines/config.yaml": config})
    code, out, err = run(capsys, "--root", str(minimal_repo), "--no-lint")
    assert code == 2
    assert out == ""
    assert err.startswith("changegate: pipelines/config.yaml is invalid:")
    assert fragment in err


def test_config_error_in_json_prints_the_problems_too(minimal_repo, capsys):
    add(minimal_repo, {"pipelines/config.yaml": "project: demo\nrepository:\n  name: acme/x\naprovers: []\n"})
    code, out, _err = run(capsys, "--root", str(minimal_repo), "--format", "json")
    assert code == 2
    data = json.loads(out)
    assert (data["ok"], data["error"]) == (False, "config")
    (problem,) = data["problems"]
    assert (problem["check"], problem["key"], problem["hint"]) == \
        ("config-schema", "aprovers", "did you mean 'approvers'?")


def test_missing_root_and_bad_option_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "--root", str(tmp_path / "nowhere"))
    assert code == 2
    assert "pipelines/config.yaml: not found" in err
    code, _, err = run(capsys, "--format", "xml")
    assert code == 2
    assert "Invalid value for '--format'" in err


def test_debug_lets_the_traceback_through(minimal_repo, capsys):
    add(minimal_repo, {"pipelines/config.yaml": "project: demo\n"})
    with pytest.raises(ConfigError):
        main(["--debug", "validate", "--root", str(minimal_repo), "--no-lint"])


def test_lint_errors_exit_1(minimal_repo, capsys):
    add(minimal_repo, {"stacks/app/template.yaml":
                       "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      Bogus: 1\n",
                       "stacks/app/config.json": "{}"})
    code, out, _ = run(capsys, "--root", str(minimal_repo), "--jobs", "1")
    assert code == 1
    assert "stacks/app/template.yaml:5: error: Additional properties are not allowed ('Bogus'" in out


def installed_command() -> str:
    """The console script installed beside this interpreter, not whatever comes first on PATH."""
    script = Path(sys.executable).with_name("changegate")
    assert script.is_file(), f"{script} is missing: install the package (pip install -e .)"
    return str(script)


def test_the_installed_command_exits_2_without_a_traceback(minimal_repo):
    config = "project: demo\nrepository:\n  name: acme/x\n  1: x\n"
    (minimal_repo / "pipelines/config.yaml").write_text(config, encoding="utf-8")
    result = subprocess.run([installed_command(), "validate", "--root", str(minimal_repo), "--no-lint"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "key 1 in repository is not a string (int)" in result.stderr


# ---- progress ---------------------------------------------------------------------------------

def test_progress_is_shown_for_many_stacks(minimal_repo, capsys):
    for i in range(19):
        add(minimal_repo, {f"stacks/s{i:02d}/template.yaml": "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"})
    code, _out, err = run(capsys, "--root", str(minimal_repo), "--no-lint")
    assert code == 0
    assert err.splitlines() == [f"validating: {n}/20" for n in range(2, 21, 2)]
    code, _out, err = run(capsys, "--root", str(minimal_repo), "--no-lint", "--format", "json")
    assert err == ""  # JSON consumers get no progress noise


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_line():
    stream = Terminal()
    progress = Progress("linting", total=2, stream=stream, minimum=1)
    progress("one")
    progress("two")
    assert stream.getvalue().startswith("\rlinting: 1/2 one")
    assert stream.getvalue().endswith("\n") and stream.getvalue().count("\n") == 1


def test_progress_stays_quiet_below_its_minimum():
    stream = io.StringIO()
    progress = Progress("x", total=5, stream=stream)
    for _ in range(5):
        progress()
    assert (stream.getvalue(), progress.done) == ("", 5)


def test_python_dash_m_cli(minimal_repo):
    result = subprocess.run([sys.executable, "-m", "changegate.cli", "validate", "--root", str(minimal_repo),
                             "--no-lint"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


# ---- issue 9, item 1: a runaway AllowedPattern never hangs validate (nor so the sync) ----------

def test_a_catastrophic_pattern_against_a_near_miss_returns_in_seconds(minimal_repo):
    """The widely copied e-mail pattern nests quantifiers; Python's re needs days for this value.

    Run in a subprocess with a timeout, so that a regression fails the test instead of hanging it.
    """
    email = (r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
             r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$")
    add(minimal_repo, {
        "stacks/app/template.yaml": (
            "Parameters:\n  Email:\n    Type: String\n    AllowedPattern: '" + email + "'\n"
            "  Other:\n    Type: String\n    AllowedPattern: '(a|aa)+$'\n"
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
        "stacks/app/config.json": json.dumps({"Parameters": {"Email": "a" * 40 + "!",
                                                             "Other": "a" * 60 + "!"}}),
    })
    result = subprocess.run([installed_command(), "validate", "--root", str(minimal_repo), "--no-lint",
                             "--format", "json"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1, result.stderr
    problems = {p["key"]: p for p in json.loads(result.stdout)["problems"]}
    assert problems["Parameters.Email"]["check"] == "parameter-value"  # decided, and refused
    unchecked = problems["Parameters.Other"]  # only the timeout stops this one: a warning
    assert (unchecked["check"], unchecked["severity"], unchecked["file"]) == \
        ("parameter-pattern-unchecked", "warning", "stacks/app/config.json")
    assert "(a|aa)+$" in unchecked["message"]
