"""The CI scanners' judge (.ci/scan.py): which findings pass, and what makes the scan fail.

The tools themselves run in CI (.ci/run), each from its own virtual environment; here the logic
that decides on their findings is held to its promise: only a written reason explains a finding,
and a suppression that explains nothing fails the scan so the table cannot rot.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCAN = Path(__file__).resolve().parents[2] / ".ci" / "scan.py"
spec = importlib.util.spec_from_file_location("ci_scan", SCAN)
scan = importlib.util.module_from_spec(spec)
sys.modules["ci_scan"] = scan  # dataclasses look their module up while the class is built
spec.loader.exec_module(scan)

Finding = scan.Finding


def test_a_finding_passes_only_with_a_reason_for_its_resource():
    findings = [Finding("checkov", "CKV_AWS_18", "SourceBucket", "access logging"),
                Finding("checkov", "CKV_AWS_18", "OtherBucket", "access logging")]
    allowed = {"checkov": {"CKV_AWS_18": {"resources": ["SourceBucket"], "reason": "CloudTrail data events"}}}
    unexplained, problems = scan.judge(findings, allowed)
    assert unexplained == [findings[1]] and problems == []
    # no resources: the rule is accepted for the whole template (cfn-guard reports per template)
    unexplained, _ = scan.judge(findings, {"checkov": {"CKV_AWS_18": {"reason": "why"}}})
    assert unexplained == []


def test_a_suppression_without_reason_or_without_finding_fails():
    findings = [Finding("cfn-guard", "CT.S3.PR.2", "", "logging")]
    _, problems = scan.judge(findings, {"cfn-guard": {"CT.S3.PR.2": {"reason": " "},
                                                      "CT.S3.PR.4": {"reason": "nothing consumes events"}}})
    assert problems == ["suppression cfn-guard CT.S3.PR.2 has no reason",
                        "suppression cfn-guard CT.S3.PR.4 matches no finding (stale: remove it)"]


def test_policy_documents_are_every_iam_document_resolved():
    template = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}}]}}]}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}},
        "Topic": {"Type": "AWS::SNS::Topic"}}}
    documents = scan.policy_documents(template)
    assert [(d["resource"], d["kind"]) for d in documents] == [("Role", "trust"), ("Role", "identity"),
                                                               ("Key", "key")]
    assert json.dumps(documents[1]["document"]).count("arn:aws:s3:::b/*") == 1  # intrinsics resolved


# ---- unpacking the cfn-guard package on any Python the README allows ----

def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _without_data_filter(monkeypatch) -> None:
    # a Python before 3.11.4 / 3.10.12 (Debian's 3.11.2): tarfile has no data_filter
    monkeypatch.delattr(scan.tarfile, "data_filter", raising=False)


@pytest.mark.parametrize("old_python", [False, True])
def test_the_package_unpacks_with_or_without_tarfiles_data_filter(tmp_path, monkeypatch, old_python) -> None:
    import tarfile

    if old_python:
        _without_data_filter(monkeypatch)
    tarball = _tarball(tmp_path / "p.tgz", {"package/bin/cfn-guard": b"binary", "package/rules.guard": b"r"})
    with tarfile.open(tarball) as archive:
        scan.safe_extract(archive, tmp_path / "out")
    assert (tmp_path / "out/package/bin/cfn-guard").read_bytes() == b"binary"


@pytest.mark.parametrize("old_python", [False, True])
def test_a_member_outside_the_target_is_refused(tmp_path, monkeypatch, old_python) -> None:
    import tarfile

    if old_python:
        _without_data_filter(monkeypatch)
    tarball = _tarball(tmp_path / "p.tgz", {"../escaped": b"x"})
    with tarfile.open(tarball) as archive, pytest.raises((SystemExit, tarfile.TarError)):
        scan.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()
