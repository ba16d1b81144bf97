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
