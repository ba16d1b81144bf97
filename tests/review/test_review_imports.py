"""review/ runs inside Lambda from its own small zip: it imports only the standard library, boto3 and
botocore (and itself), and it agrees with the generator on the names they share."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from generator import naming
from generator.bootstrap import pipeline
from generator.bootstrap.functions import function_entries
from review import stack_policy

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {"boto3", "botocore", "review", "__future__"}


def test_review_imports_only_the_standard_library_boto3_and_botocore() -> None:
    offenders = []
    paths = sorted((REPO / "review").rglob("*.py"))
    assert REPO / "review" / "stack_policy.py" in paths
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED and top not in sys.stdlib_module_names:
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert offenders == []


def test_the_function_zip_holds_the_review_package_only() -> None:
    entries = function_entries()
    assert "review/stack_policy.py" in entries
    assert all(name.startswith("review/") and name.endswith(".py") for name in entries)


def test_names_shared_with_the_generator_agree() -> None:
    assert stack_policy.CONFIG_ENTRY == naming.ARCHIVE_CONFIG
    assert stack_policy.PHASE_BEFORE == pipeline.PHASE_BEFORE
    assert stack_policy.PHASE_AFTER == pipeline.PHASE_AFTER


def test_the_steps_the_template_names_are_the_steps_the_function_runs() -> None:
    from review import render, steps

    assert (pipeline.STEP_REVIEW, pipeline.STEP_CHECK) == (steps.STEP_REVIEW, steps.STEP_CHECK)
    # every #{Review.X} the template reads is an output the review step writes
    namespace = naming.REVIEW_NAMESPACE
    used = {pipeline.REVIEW_SUMMARY, pipeline.REVIEW_LINK, f"#{{{namespace}.ChangeSetId}}",
            f"#{{{namespace}.StackStatus}}", f"#{{{namespace}.StackUpdated}}"}
    assert used <= {f"#{{{namespace}.{name}}}" for name in steps.OUTPUTS}
    from changegate import changesets

    assert render.CONSOLE_HOSTS == changesets.CONSOLE_HOSTS
    assert "review/steps.py" in function_entries()
