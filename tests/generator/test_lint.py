"""cfn-lint across stacks: errors fail, warnings show, .cfnlintrc at the root, parallel = serial.

cfn-lint costs about a second per template: these are the only tests here that run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.contract.lint import lint_stacks
from generator.contract.validate import validate_repository

# E3002: an unknown property (error); W2001: an unused parameter (warning)
BAD_PROPERTY = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      Bogus: 1\n"
UNUSED_PARAMETER = ("Parameters:\n  Unused:\n    Type: String\n    Default: x\n"
                    "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")


def add_stack(root: Path, folder: str, template: str) -> None:
    (root / "stacks" / folder).mkdir(parents=True)
    (root / "stacks" / folder / "template.yaml").write_text(template, encoding="utf-8")


def lint_findings(root: Path, **kwargs) -> list[tuple]:
    report = validate_repository(root, **kwargs)
    return [(p.stack, p.check, p.line, p.severity.value, p.message) for p in report.problems]


@pytest.fixture
def lint_repo(minimal_repo: Path) -> Path:
    add_stack(minimal_repo, "broken", BAD_PROPERTY)
    add_stack(minimal_repo, "noisy", UNUSED_PARAMETER)
    return minimal_repo


def test_errors_fail_and_warnings_are_shown(lint_repo):
    report = validate_repository(lint_repo, jobs=1)
    assert report.linted == ("app", "broken", "noisy")
    found = {(p.stack, p.check, p.file, p.line, p.severity.value) for p in report.problems}
    assert found == {("broken", "cfn-lint E3002", "stacks/broken/template.yaml", 5, "error"),
                     ("noisy", "cfn-lint W2001", "stacks/noisy/template.yaml", 2, "warning")}
    assert not report.ok
    assert [p.stack for p in report.warnings] == ["noisy"]


def test_parallel_gives_the_same_findings_as_serial(lint_repo):
    progress: list[str] = []
    serial = lint_findings(lint_repo, jobs=1)
    parallel = lint_findings(lint_repo, jobs=2, progress=progress.append)
    assert parallel == serial
    assert len(serial) == 2
    # each stack is reported once when checked and once when linted
    assert sorted(progress) == ["app", "app", "broken", "broken", "noisy", "noisy"]


def test_cfnlintrc_at_the_root_is_respected(minimal_repo):
    add_stack(minimal_repo, "broken", BAD_PROPERTY)
    assert [p.check for p in validate_repository(minimal_repo, jobs=1).problems] == ["cfn-lint E3002"]
    (minimal_repo / ".cfnlintrc").write_text("ignore_checks:\n  - E3002\n", encoding="utf-8")
    assert validate_repository(minimal_repo, jobs=1).problems == []


def test_cfnlintrc_in_the_current_directory_is_not_the_roots(minimal_repo, tmp_path, monkeypatch):
    add_stack(minimal_repo, "broken", BAD_PROPERTY)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".cfnlintrc").write_text("ignore_checks:\n  - E3002\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    report = validate_repository(minimal_repo, lint={"broken"})
    assert [p.check for p in report.problems] == ["cfn-lint E3002"]


@pytest.mark.parametrize(("content", "fragment"), [
    ("ignore_checks: [E3002\n", "did not find expected"),
    ("ignore_chekcs: [E3002]\n", "Invalid configuration key 'ignore_chekcs'"),
    ("- E3002\n", "Expected object"),
])
def test_a_broken_cfnlintrc_is_a_problem_not_a_traceback(minimal_repo, content, fragment):
    (minimal_repo / ".cfnlintrc").write_text(content, encoding="utf-8")
    report = validate_repository(minimal_repo)
    (problem,) = report.problems
    assert (problem.check, problem.file, problem.severity.value) == \
        ("cfnlintrc-invalid", ".cfnlintrc", "error")
    assert fragment in problem.message


def test_a_region_cfn_lint_does_not_know_is_a_problem(minimal_repo):
    (minimal_repo / ".cfnlintrc.yaml").write_text("regions: [mars-east-1]\n", encoding="utf-8")
    (problem,) = validate_repository(minimal_repo).problems
    assert (problem.check, problem.stack) == ("cfn-lint-failed", "app")
    assert "mars-east-1" in problem.message


def test_lint_only_the_named_stacks(lint_repo):
    report = validate_repository(lint_repo, lint={"noisy"})
    assert report.linted == ("noisy",)
    assert [p.check for p in report.problems] == ["cfn-lint W2001"]


def test_lint_stacks_with_nothing_to_lint(minimal_repo):
    assert lint_stacks([], minimal_repo) == []


# ---- one process where processes cannot share a lock (CodeBuild's Lambda compute, F2) ----

def no_shared_memory(monkeypatch) -> None:
    """Locks fail as on AWS Lambda, which has no /dev/shm: at ``_multiprocessing.SemLock``."""
    import _multiprocessing
    import multiprocessing

    class SemLock(_multiprocessing.SemLock):  # keeps SEM_VALUE_MAX and the rest
        def __new__(cls, *args, **kwargs):
            raise OSError(38, "Function not implemented")

    monkeypatch.setattr(_multiprocessing, "SemLock", SemLock)
    with pytest.raises(OSError):  # the patch is where multiprocessing really fails
        multiprocessing.get_context("fork").Lock()


def test_without_locks_linting_falls_back_to_one_process(lint_repo, monkeypatch, caplog):
    serial = lint_findings(lint_repo, jobs=1)
    no_shared_memory(monkeypatch)
    progress: list[str] = []
    with caplog.at_level("WARNING", logger="generator.contract.lint"):
        fallback = lint_findings(lint_repo, jobs=3, progress=progress.append)
    assert fallback == serial and len(serial) == 2  # every stack linted, E3002 and W2001 found
    assert sorted(progress) == ["app", "app", "broken", "broken", "noisy", "noisy"]
    (record,) = [r for r in caplog.records if r.name == "generator.contract.lint"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == ("linting in one process: cannot create a pool of 3 lint processes "
                                   "(OSError: [Errno 38] Function not implemented)")


def test_when_lint_processes_die_the_rest_is_linted_here(lint_repo, monkeypatch, caplog):
    import os

    import generator.contract.lint as lint

    serial = lint_findings(lint_repo, jobs=1)
    real, parent = lint.lint_batch, os.getpid()

    def dies_in_a_worker(paths, rc_file):
        if os.getpid() != parent:
            os._exit(3)  # as the kernel's out-of-memory killer would end it
        return real(paths, rc_file)

    # the pool pickles the function by name: the forked workers find this one under that name
    dies_in_a_worker.__module__, dies_in_a_worker.__qualname__ = real.__module__, real.__qualname__
    monkeypatch.setattr(lint, "lint_batch", dies_in_a_worker)
    with caplog.at_level("WARNING", logger="generator.contract.lint"):
        assert lint_findings(lint_repo, jobs=2) == serial
    (message,) = [r.getMessage() for r in caplog.records if r.name == "generator.contract.lint"]
    assert message.startswith("linting in one process: a lint process died (BrokenProcessPool")


def test_a_working_pool_logs_nothing(lint_repo, caplog):
    with caplog.at_level("DEBUG", logger="generator.contract.lint"):
        assert len(lint_findings(lint_repo, jobs=2)) == 2
    assert [r for r in caplog.records if r.name == "generator.contract.lint"] == []


# ---- rule ids in the output (issue 9, item 13) ----

# E3012: a long value where a string belongs; cfn-lint prints the whole value, then its verdict
VALUES = ", ".join(f"value-{j}" for j in range(10))
LONG_VALUE = ("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName:\n"
              + "".join(f"        Key{i}: [{VALUES}]\n" for i in range(20)))


def test_text_output_names_each_rule_id_and_json_keeps_the_whole_message(minimal_repo, capsys):
    import json

    from changegate.cli import main

    add_stack(minimal_repo, "broken", BAD_PROPERTY)
    add_stack(minimal_repo, "noisy", UNUSED_PARAMETER)
    add_stack(minimal_repo, "long", LONG_VALUE)
    assert main(["validate", "--root", str(minimal_repo), "--jobs", "1"]) == 1
    text = capsys.readouterr().out
    assert "stacks/broken/template.yaml:5: error: Additional properties are not allowed ('Bogus' was " \
           "unexpected) [cfn-lint E3002]" in text.splitlines()
    assert any(line.startswith("stacks/noisy/template.yaml:2: warning: ") and line.endswith(
        " [cfn-lint W2001]") for line in text.splitlines())
    assert "is not of type 'string' [cfn-lint E3012]" in text

    assert main(["validate", "--root", str(minimal_repo), "--jobs", "1", "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    (long_problem,) = [p for p in problems if p["stack"] == "long"]
    assert long_problem["check"] == "cfn-lint E3012"
    assert long_problem["message"].startswith("{'Key0': ['value-0', 'value-1'")
    assert "'Key19': [" in long_problem["message"] and len(long_problem["message"]) > 1000


def test_a_finding_that_cfn_lint_could_not_run_names_no_rule(minimal_repo):
    (minimal_repo / ".cfnlintrc.yaml").write_text("regions: [mars-east-1]\n", encoding="utf-8")
    (problem,) = validate_repository(minimal_repo).problems
    assert problem.message.startswith("cfn-lint could not run: ") and "[cfn-lint" not in problem.message


# ---- .cfnlintrc never loads code (issue 10 item 4, security review H4) ------------------------

# A rules "module" that proves it ran: cfn-lint imports every .py file of an append_rules folder.
MARKER_RULE = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"


def rules_folder(root: Path, relpath: str, marker: Path) -> None:
    folder = root / relpath
    folder.mkdir(parents=True)
    (folder / "marker_rule.py").write_text(MARKER_RULE.format(marker=str(marker)), encoding="utf-8")


@pytest.mark.parametrize("key", ["append_rules", "append-rules"])
def test_rules_from_a_stack_folder_are_refused_and_never_imported(minimal_repo, tmp_path, key,
                                                                  monkeypatch):
    monkeypatch.chdir(minimal_repo)  # as the sync runs: from the root, where cfn-lint would find it
    marker = tmp_path / "ran.txt"
    rules_folder(minimal_repo, "stacks/app/lintrules", marker)
    (minimal_repo / ".cfnlintrc").write_text(f"{key}:\n  - stacks/app/lintrules\n", encoding="utf-8")
    report = validate_repository(minimal_repo, jobs=1)
    (problem,) = report.problems
    assert (problem.check, problem.file, problem.key) == \
        ("cfnlintrc-loads-code", ".cfnlintrc", f"{key}[0]")
    assert "'stacks/app/lintrules' is outside pipelines/" in problem.message
    assert "pipelines/" in problem.hint
    assert not report.ok
    assert not marker.exists(), "cfn-lint imported rules from a folder any author can change"


def test_rules_under_pipelines_are_loaded(minimal_repo, tmp_path):
    marker = tmp_path / "ran.txt"
    rules_folder(minimal_repo, "pipelines/lint-rules", marker)
    (minimal_repo / ".cfnlintrc").write_text("append_rules: [pipelines/lint-rules]\n", encoding="utf-8")
    report = validate_repository(minimal_repo, jobs=1)
    assert report.problems == []
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(("content", "key", "fragment"), [
    # a name that is not a folder would be imported as a module from wherever Python finds it
    ("append_rules: [pipelines/missing]\n", "append_rules[0]", "is not a directory under pipelines/"),
    ("append_rules: [pipelines.lint_rules]\n", "append_rules[0]", "is outside pipelines/"),
    ("append_rules: [/tmp/rules]\n", "append_rules[0]", "is outside pipelines/"),
    ("append_rules: [pipelines/../stacks/app]\n", "append_rules[0]", "is outside pipelines/"),
    ("override_spec: stacks/app/spec.json\n", "override_spec", "is outside pipelines/"),
    ("registry_schemas: [stacks/app/schemas]\n", "registry_schemas[0]", "is outside pipelines/"),
    ("custom_rules: stacks/app/rules.txt\n", "custom_rules", "is outside pipelines/"),
])
def test_paths_outside_pipelines_are_refused(minimal_repo, content, key, fragment):
    (minimal_repo / ".cfnlintrc").write_text(content, encoding="utf-8")
    (problem,) = validate_repository(minimal_repo, jobs=1).problems
    assert (problem.check, problem.key) == ("cfnlintrc-loads-code", key)
    assert fragment in problem.message


def test_a_link_under_pipelines_to_a_stack_folder_is_refused(minimal_repo, tmp_path):
    marker = tmp_path / "ran.txt"
    rules_folder(minimal_repo, "stacks/app/lintrules", marker)
    (minimal_repo / "pipelines/lint-rules").symlink_to(minimal_repo / "stacks/app/lintrules")
    (minimal_repo / ".cfnlintrc").write_text("append_rules: [pipelines/lint-rules]\n", encoding="utf-8")
    (problem,) = validate_repository(minimal_repo, jobs=1).problems
    assert problem.check == "cfnlintrc-loads-code"
    assert not marker.exists()


@pytest.mark.parametrize("option", ["output_file: out.txt", "templates: [stacks/*/template.yaml]",
                                    "ignore_templates: [stacks/app/template.yaml]"])
def test_options_that_choose_templates_or_write_files_are_refused(minimal_repo, option):
    (minimal_repo / ".cfnlintrc").write_text(option + "\n", encoding="utf-8")
    (problem,) = validate_repository(minimal_repo, jobs=1).problems
    assert (problem.check, problem.key) == ("cfnlintrc-option-refused", option.split(":")[0])


def test_a_templates_cfn_lint_metadata_cannot_load_rules(minimal_repo, tmp_path):
    """cfn-lint reads Metadata cfn-lint config per template, but not append_rules (is_template
    False in cfnlint.config): a template cannot load code either. This pins that behaviour."""
    marker = tmp_path / "ran.txt"
    rules_folder(minimal_repo, "stacks/app/lintrules", marker)
    template = (minimal_repo / "stacks/app/template.yaml").read_text("utf-8")
    (minimal_repo / "stacks/app/template.yaml").write_text(
        template + "Metadata:\n  cfn-lint:\n    config:\n      append_rules:\n"
        f"        - {minimal_repo / 'stacks/app/lintrules'}\n", encoding="utf-8")
    validate_repository(minimal_repo, jobs=1)
    assert not marker.exists()
