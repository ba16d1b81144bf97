"""The fast decoder must mean exactly what cfn-lint's decoder means, or fall back to it.

``load_stack`` trusts a clean result of the fast decoder without ever running the precise
one, so any difference in meaning would let a problem through unreported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.contract.documents import read_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = [*sorted((ROOT / "stacks").glob("*/*.*")), ROOT / "pipelines" / "config.yaml"]

SHORT_FORMS = """\
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  A:
    Type: AWS::SNS::Topic
    Condition: IsProd
    Properties:
      TopicName: !Sub "${AWS::StackName}-a"
      Tags:
        - Key: k
          Value: !If [IsProd, !GetAtt B.Arn, !Ref AWS::NoValue]
        - Key: j
          Value: !Select [0, !Split [",", !ImportValue {"Fn::Sub": "${X}-ids"}]]
        - Key: c
          Value: !Condition IsProd
        - Key: b64
          Value: !Base64 |
            #!/bin/bash
            echo hi
  B:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Join ["-", [a, !GetAZs ""]]
      Size: 3
      Enabled: yes
      Date: 2024-01-01
      Empty:
"""


def _plain(value):
    """Decoded values as plain JSON-able data (the precise decoder returns str/dict subclasses)."""
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_both_decoders_read_the_examples_the_same(path: Path) -> None:
    fast = read_document(path, ROOT, precise=False)
    precise = read_document(path, ROOT, precise=True)
    assert not fast.precise and precise.precise
    assert _plain(fast.data) == _plain(precise.data)


def test_both_decoders_expand_short_forms_the_same(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_FORMS)
    fast = read_document(path, tmp_path, precise=False)
    precise = read_document(path, tmp_path, precise=True)
    assert fast.problems == precise.problems == ()
    assert _plain(fast.data) == _plain(precise.data)
    assert fast.data["Resources"]["A"]["Properties"]["Tags"][0]["Value"]["Fn::If"][1] == {
        "Fn::GetAtt": ["B", "Arn"]}


@pytest.mark.parametrize("name,text", [
    ("template.yaml", "Resources:\n  A: {Type: X}\n  A: {Type: Y}\n"),
    ("template.json", '{"Resources": {"A": {"Type": "X"}, "A": {"Type": "Y"}}}'),
    ("template.yaml", "Resources: [unclosed\n"),
    ("template.json", '{"Resources": {"A": {"Type": "X"}}'),
])
def test_what_the_fast_decoder_cannot_decide_is_reported_by_the_precise_one(
        tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    fast = read_document(path, tmp_path, precise=False)
    assert fast.precise, "the fast decoder must hand duplicates and syntax errors to cfn-lint's"
    assert fast.data is None
    assert fast.problems and all(p.check == "file-syntax" and p.line for p in fast.problems)
