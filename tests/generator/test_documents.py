"""read_document: YAML with short-form intrinsics and JSON, with line numbers; refusals."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.contract.documents import key_line, line_of, read_document

YAML_TEMPLATE = """\
Parameters:
  Name:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref Name
      DisplayName: !Sub "${AWS::StackName}-topic"
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
"""

JSON_TEMPLATE = """\
{
  "Resources": {
    "Topic": {
      "Type": "AWS::SNS::Topic"
    }
  }
}
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_yaml_short_form_intrinsics_become_long_form(tmp_path):
    doc = read_document(write(tmp_path, "t.yaml", YAML_TEMPLATE), tmp_path)
    assert doc.problems == ()
    topic = doc.data["Resources"]["Topic"]["Properties"]
    assert topic["TopicName"] == {"Ref": "Name"}
    assert topic["DisplayName"] == {"Fn::Sub": "${AWS::StackName}-topic"}
    queue = doc.data["Resources"]["Queue"]["Properties"]["RedrivePolicy"]
    assert queue["deadLetterTargetArn"] == {"Fn::GetAtt": ["Dead", "Arn"]}


def test_yaml_lines_of_keys_and_mappings(tmp_path):
    doc = read_document(write(tmp_path, "t.yaml", YAML_TEMPLATE), tmp_path)
    resources = doc.data["Resources"]
    assert key_line(doc.data, "Resources") == 4
    assert key_line(resources, "Queue") == 10
    assert line_of(resources["Queue"]) == 11  # a mapping starts at its first key
    # a missing key falls back to the mapping's own line
    assert key_line(resources, "Nope") == line_of(resources) == 5


def test_json_is_decoded_with_lines(tmp_path):
    doc = read_document(write(tmp_path, "stacks/a/template.json", JSON_TEMPLATE), tmp_path)
    assert doc.problems == ()
    assert doc.relpath == "stacks/a/template.json"
    assert doc.data["Resources"]["Topic"]["Type"] == "AWS::SNS::Topic"
    assert key_line(doc.data["Resources"], "Topic") == 3
    assert doc.raw == JSON_TEMPLATE.encode()


def test_line_of_plain_values_is_none():
    assert line_of(3) is None
    assert line_of({"a": 1}) is None
    assert key_line({"a": 1}, "a") is None


def test_empty_and_whitespace_files_are_refused(tmp_path):
    for content in ("", " \n\t\n"):
        doc = read_document(write(tmp_path, "c.json", content), tmp_path)
        assert doc.data is None
        assert [p.check for p in doc.problems] == ["file-empty"]


def test_non_utf8_reports_byte_offset_and_line(tmp_path):
    doc = read_document(write(tmp_path, "t.yaml", b"a: 1\nb: 2\nc: \xff\n"), tmp_path, stack="s")
    (problem,) = doc.problems
    assert (problem.check, problem.line, problem.stack) == ("file-not-utf8", 3, "s")
    assert "byte 0xff at offset 13" in problem.message


def test_size_limit(tmp_path):
    path = write(tmp_path, "t.yaml", "a: " + "x" * 97 + "\n")  # 101 bytes
    assert read_document(path, tmp_path, max_bytes=101).problems == ()
    (problem,) = read_document(path, tmp_path, max_bytes=100).problems
    assert problem.check == "file-too-large"
    assert "101 bytes; the limit is 100 bytes" in problem.message


def test_aliases_are_refused_but_an_ampersand_in_text_is_fine(tmp_path):
    doc = read_document(write(tmp_path, "a.yaml", "a: &x 1\nb:\n  c: *x\n"), tmp_path)
    (problem,) = doc.problems
    assert (problem.check, problem.line) == ("yaml-alias", 1)
    doc = read_document(write(tmp_path, "b.yaml", 'Description: "R&D & ops"\nx: a&b\n'), tmp_path)
    assert doc.problems == ()
    assert doc.data["Description"] == "R&D & ops"


def test_syntax_error_before_an_anchor_is_reported_as_syntax(tmp_path):
    doc = read_document(write(tmp_path, "a.yaml", "a:\n\t- &x 1\nb: *x\n"), tmp_path)
    assert [(p.check, p.line) for p in doc.problems] == [("file-syntax", 2)]


def test_duplicate_keys_are_reported_on_both_lines(tmp_path):
    doc = read_document(write(tmp_path, "a.yaml", "A: 1\nB: 2\nA: 3\n"), tmp_path)
    assert doc.data is None
    assert [(p.check, p.line) for p in doc.problems] == [("file-syntax", 1), ("file-syntax", 3)]
    assert all("Duplicate found 'A'" in p.message for p in doc.problems)


def test_unreadable_path_is_a_problem(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    (problem,) = read_document(tmp_path / "dir.yaml", tmp_path).problems
    assert problem.check == "file-unreadable"


def test_relpath_outside_root_is_kept_whole(tmp_path):
    path = write(tmp_path, "x.yaml", "a: 1\n")
    assert read_document(path, tmp_path / "elsewhere").relpath == str(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=120)
       | st.text(alphabet=st.sampled_from(list("ab:-[]{}\"'&*!#, \n\t|>?%@0.")), max_size=60)
       .map(str.encode))
def test_any_bytes_give_data_or_problems_never_an_exception(tmp_path, content):
    doc = read_document(write(tmp_path, "fuzz.yaml", content), tmp_path)
    assert (doc.data is None) == bool(doc.problems)
