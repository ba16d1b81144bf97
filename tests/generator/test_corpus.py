"""A corpus of bad repositories, each asserting exactly what ``validate`` reports.

Each folder under ``corpus/`` is one case: ``files/`` is written over the minimal valid
repository (``minimal_repo`` in ``tests/conftest.py``), ``case.yaml`` says which files to
remove, which fixture steps to run (binary files and links are made here, at test time, so
the repository never holds a link that points out of it), the exit code of
``changegate validate`` and the exact problems: check id, file, key and line (absent means
none), severity (error unless said) and fragments of the message and hint.

Every case runs through ``validate_repository`` and through the real command line, which must
agree with it and never print a traceback.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from changegate.cli import main
from generator.contract.validate import validate_repository
from generator.errors import ConfigError

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


# ---- fixture steps named by case.yaml "setup" -------------------------------------------

def _latin1_template(root: Path, outside: Path) -> None:
    (root / "stacks/app/template.yaml").write_bytes(
        b"Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n# caf\xe9\n")


def _utf16_config(root: Path, outside: Path) -> None:
    (root / "stacks/app/config.yaml").write_bytes("Parameters:\n  TopicName: x\n".encode("utf-16"))


def _many_resources(root: Path, outside: Path) -> None:
    resources = "".join(f"  Topic{i}:\n    Type: AWS::SNS::Topic\n" for i in range(501))
    (root / "stacks/app/template.yaml").write_text(
        'AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  TopicName:\n    Type: String\n'
        f"    Default: x\nResources:\n{resources}", encoding="utf-8")


def _large_template(root: Path, outside: Path) -> None:
    body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    # 6,000 lines of 100 bytes: over CodePipeline's 512 KB, under CloudFormation's 1 MB (F10)
    filler = "".join(f"# {'x' * 97}\n" for _ in range(6_000))
    (root / "stacks/app/template.yaml").write_text(body + filler, encoding="utf-8")


def _long_parameter_value(root: Path, outside: Path) -> None:
    config = (root / "stacks/app/config.json").read_text("utf-8")
    (root / "stacks/app/config.json").write_text(config.replace("demo-app-topic", "x" * 4097), "utf-8")


def _newline_folder(root: Path, outside: Path) -> None:
    folder = root / "stacks" / "app\n"
    folder.mkdir()
    shutil.copy(root / "stacks/app/template.yaml", folder / "template.yaml")


def _empty_stack_folder(root: Path, outside: Path) -> None:
    (root / "stacks/empty").mkdir()


def _template_symlink_outside(root: Path, outside: Path) -> None:
    target = outside / "template.yaml"
    shutil.copy(root / "stacks/app/template.yaml", target)
    (root / "stacks/app/template.yaml").unlink()
    (root / "stacks/app/template.yaml").symlink_to(target)


def _folder_symlink_outside(root: Path, outside: Path) -> None:
    shutil.copy(root / "stacks/app/template.yaml", outside / "template.yaml")
    (root / "stacks/ext").symlink_to(outside, target_is_directory=True)


def _config_symlink_broken(root: Path, outside: Path) -> None:
    (root / "stacks/app/config.json").unlink()
    (root / "stacks/app/config.json").symlink_to(root / "stacks/app/missing.json")


def _template_is_directory(root: Path, outside: Path) -> None:
    (root / "stacks/app/template.yaml").unlink()
    (root / "stacks/app/template.yaml").mkdir()


def _long_folder_96(root: Path, outside: Path) -> None:
    folder = root / "stacks" / ("a" * 96)
    folder.mkdir()
    shutil.copy(root / "stacks/app/template.yaml", folder / "template.yaml")


def _policy_symlink_outside(root: Path, outside: Path) -> None:
    (outside / "policy.json").write_text('{"Statement": []}', encoding="utf-8")
    (root / "pipelines/policies").mkdir()
    (root / "pipelines/policies/app.json").symlink_to(outside / "policy.json")


def _child_symlink_outside(root: Path, outside: Path) -> None:
    (outside / "child.yaml").write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n", "utf-8")
    (root / "stacks/app/child.yaml").symlink_to(outside / "child.yaml")


SETUP: dict[str, Callable[[Path, Path], None]] = {
    "latin1_template": _latin1_template,
    "utf16_config": _utf16_config,
    "many_resources": _many_resources,
    "large_template": _large_template,
    "long_parameter_value": _long_parameter_value,
    "newline_folder": _newline_folder,
    "empty_stack_folder": _empty_stack_folder,
    "template_symlink_outside": _template_symlink_outside,
    "folder_symlink_outside": _folder_symlink_outside,
    "config_symlink_broken": _config_symlink_broken,
    "template_is_directory": _template_is_directory,
    "long_folder_96": _long_folder_96,
    "policy_symlink_outside": _policy_symlink_outside,
    "child_symlink_outside": _child_symlink_outside,
}


# ---- helpers ------------------------------------------------------------------------------

def load_case(name: str) -> dict:
    return yaml.safe_load((CORPUS / name / "case.yaml").read_text("utf-8"))


def build_case(name: str, repo: Path, outside: Path) -> dict:
    case = load_case(name)
    files = CORPUS / name / "files"
    if files.is_dir():
        shutil.copytree(files, repo, dirs_exist_ok=True)
    for relpath in case.get("remove", []):
        (repo / relpath).unlink()
    outside.mkdir(exist_ok=True)
    for step in case.get("setup", []):
        SETUP[step](repo, outside)
    return case


def matches(problem: dict, expected: dict) -> bool:
    """``problem`` (a Problem's JSON form) is the one ``expected`` describes."""
    return (problem["check"] == expected["check"]
            and problem["file"] == expected["file"]
            and problem["key"] == expected.get("key")
            and problem["line"] == expected.get("line")
            and problem["severity"] == expected.get("severity", "error")
            and expected["message"] in problem["message"]
            and expected.get("hint", "") in (problem["hint"] or ""))


def assert_problems(actual: list[dict], expected: list[dict]) -> None:
    unmatched = list(actual)
    for want in expected:
        found = next((p for p in unmatched if matches(p, want)), None)
        assert found is not None, f"expected {want}\nreported {json.dumps(actual, indent=1)}"
        unmatched.remove(found)
    assert not unmatched, f"unexpected problems: {json.dumps(unmatched, indent=1)}"


@pytest.fixture
def case_repo(minimal_repo: Path, tmp_path: Path):
    def _build(name: str) -> dict:
        return build_case(name, minimal_repo, tmp_path / "outside")
    return _build


# ---- tests ----------------------------------------------------------------------------------

def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert set(SETUP) <= {step for name in CASES for step in load_case(name).get("setup", [])}, \
        "a fixture step no case uses"


@pytest.mark.parametrize("name", CASES)
def test_case_through_library(name: str, case_repo, minimal_repo: Path):
    case = case_repo(name)
    if case.get("config_error"):
        with pytest.raises(ConfigError) as caught:
            validate_repository(minimal_repo, lint=False)
        reported = [p.to_json() for p in caught.value.problems]
    else:
        report = validate_repository(minimal_repo, lint=False)
        reported = [p.to_json() for p in report.problems]
        assert report.ok is (case["exit"] == 0)
    assert_problems(reported, case["problems"])


@pytest.mark.parametrize("name", CASES)
def test_case_through_cli(name: str, case_repo, minimal_repo: Path, capsys):
    case = case_repo(name)
    code = main(["validate", "--root", str(minimal_repo), "--no-lint", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == case["exit"], out + err
    assert "Traceback" not in out + err
    assert_problems(json.loads(out)["problems"], case["problems"])

    code = main(["validate", "--root", str(minimal_repo), "--no-lint"])
    out, err = capsys.readouterr()
    assert code == case["exit"]
    assert "Traceback" not in out + err
    text = out + err
    for want in case["problems"]:
        assert want["message"] in text
        assert want["file"] in text
