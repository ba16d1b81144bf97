"""CloudFormation's 1 MB template limit applies to the body ``changegate deploy`` uploads.

The committed ``pipelines/pipelines.json`` is indented for reviewers; deploy uploads it
without whitespace, and the generator measures that form, so a repository whose indented
template is over 1 MB still deploys as long as the compact body fits.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from generator.bootstrap.template import MAX_TEMPLATE_BYTES, build_template, deployable_json, template_json
from generator.contract.validate import validate_repository
from generator.errors import GenerateError

REPO = Path(__file__).resolve().parents[2]


def _stacks(count: int) -> tuple:
    report = validate_repository(REPO, lint=False)
    one = report.stacks["network"]
    stacks = {}
    for i in range(count):
        folder = f"s{i:03d}"
        stacks[folder] = replace(one, source=replace(one.source, name=folder), stack_name=f"acme-{folder}",
                                 pipeline_name=f"acme-{folder}")
    return report.config, stacks


def test_an_indented_template_over_1_mb_is_fine_when_its_deployed_body_fits() -> None:
    # well under the capacity (187 stacks with the drift settings and the audit recorder, issue 11; about
    # 5 KB a stack plus 54 KB), yet the indented text, about twice the body, is over 1 MB
    config, stacks = _stacks(150)
    text = template_json(build_template(config, stacks))
    body = deployable_json(text)
    assert len(text.encode()) > MAX_TEMPLATE_BYTES > len(body.encode())
    assert json.loads(body) == json.loads(text)
    assert body.count("\n") == 0  # (a count, not `in`: pytest would diff 800 KB of text)


def test_a_deployed_body_over_1_mb_is_a_clear_error() -> None:
    config, stacks = _stacks(400)
    with pytest.raises(GenerateError, match=r"bytes without whitespace, over CloudFormation's limit of "
                                            r"1000000 bytes .*\(400 stacks, 400 with a pipeline\)"):
        build_template(config, stacks)
