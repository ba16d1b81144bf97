"""Every role or user a managed stack creates carries changegate's permissions boundary (issue 10 item 6)."""

from __future__ import annotations

import json

from generator.contract.boundaries import boundary_problems

BOUNDARY = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/demo-changegate-boundary"}


def _problems(resources: dict, **top) -> list[tuple[str, str]]:
    template = {"Resources": resources, **top}
    return [(p.key, p.check) for p in boundary_problems(template, json.dumps(template).encode(),
                                                         "stacks/app/template.yaml", "app", "demo")]


def test_roles_and_users_without_the_boundary_are_errors_naming_where_to_add_it():
    problems = _problems({"Role": {"Type": "AWS::IAM::Role", "Properties": {}},
                          "User": {"Type": "AWS::IAM::User"},
                          "Other": {"Type": "AWS::IAM::Role", "Properties": {"PermissionsBoundary":
                                                                                "arn:aws:iam::1:policy/Other"}}})
    assert problems == [("Resources.Role.Properties.PermissionsBoundary", "permissions-boundary"),
                        ("Resources.User.Properties.PermissionsBoundary", "permissions-boundary"),
                        ("Resources.Other.Properties.PermissionsBoundary", "permissions-boundary")]


def test_the_boundary_by_sub_or_literal_arn_passes():
    literal = "arn:aws:iam::111122223333:policy/demo-changegate-boundary"
    assert _problems({"A": {"Type": "AWS::IAM::Role", "Properties": {"PermissionsBoundary": BOUNDARY}},
                      "B": {"Type": "AWS::IAM::User", "Properties": {"PermissionsBoundary": literal}}}) == []


def test_sam_creates_a_role_only_without_one_and_globals_count():
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12"}}
    missing = [("Resources.F.Properties.PermissionsBoundary", "permissions-boundary")]
    assert _problems({"F": function}) == missing
    with_role = {"Type": "AWS::Serverless::Function", "Properties": {"Role": "arn:aws:iam::1:role/r"}}
    assert _problems({"F": with_role}) == []
    assert _problems({"F": function}, Globals={"Function": {"PermissionsBoundary": BOUNDARY}}) == []


def test_templates_without_iam_are_not_walked():
    assert boundary_problems({"Resources": None}, b"Resources: {}", "t", "app", "demo") == []
