"""Capabilities derived from the template (issue 9, item 2): what each template shape needs."""

from __future__ import annotations

import pytest

from generator.contract.capabilities import (
    AUTO_EXPAND,
    IAM,
    NAMED_IAM,
    missing_capabilities,
    required_capabilities,
)


def needs(resources: dict | None = None, **top) -> dict[str, tuple[str, int]]:
    template = {"Resources": resources or {"T": {"Type": "AWS::SNS::Topic"}}, **top}
    return {n.capability: (n.where, n.count) for n in required_capabilities(template)}


@pytest.mark.parametrize("kind", ["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy",
                                  "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile",
                                  "AWS::IAM::AccessKey", "AWS::IAM::UserToGroupAddition"])
def test_every_listed_iam_resource_needs_capability_iam(kind):
    assert needs({"R": {"Type": kind, "Properties": {}}}) == {IAM: ("Resources.R", 1)}


@pytest.mark.parametrize(("kind", "name_key"), [
    ("AWS::IAM::Role", "RoleName"), ("AWS::IAM::User", "UserName"), ("AWS::IAM::Group", "GroupName"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"), ("AWS::IAM::InstanceProfile", "InstanceProfileName")])
def test_a_custom_name_needs_named_iam_which_covers_the_rest(kind, name_key):
    resources = {"Plain": {"Type": "AWS::IAM::Role"},
                 "Named": {"Type": kind, "Properties": {name_key: "fixed"}}}
    assert needs(resources) == {NAMED_IAM: ("Resources.Named", 1)}


def test_an_inline_policy_name_is_not_a_custom_name():
    assert needs({"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p"}}}) == \
        {IAM: ("Resources.P", 1)}


def test_no_iam_and_no_macro_needs_nothing():
    assert needs({"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "RoleName"}}}) == {}


def test_sam_transform_and_its_generated_roles():
    sam = "AWS::Serverless-2016-10-31"
    resources = {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12"}},
                 "Given": {"Type": "AWS::Serverless::Function",
                           "Properties": {"Role": "arn:aws:iam::1:role/r"}},
                 "Api": {"Type": "AWS::Serverless::Api"},
                 "Flow": {"Type": "AWS::Serverless::StateMachine"}}
    assert needs(resources, Transform=sam) == {IAM: ("Resources.Fn", 2), AUTO_EXPAND: ("Transform", 1)}
    given = {"Given": resources["Given"]}
    assert needs(given, Transform=[sam]) == {AUTO_EXPAND: ("Transform", 1)}


def test_a_sam_resource_without_the_transform_still_needs_auto_expand():
    assert needs({"Api": {"Type": "AWS::Serverless::Api"}}) == {AUTO_EXPAND: ("Resources.Api", 1)}


def test_inline_fn_transform_and_include():
    include = {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}}
    assert needs({"T": {"Type": "AWS::SNS::Topic", "Properties": include}}) == \
        {AUTO_EXPAND: ("Resources.T.Properties", 1)}
    assert needs(Transform={"Name": "AWS::Include", "Parameters": {}}) == {AUTO_EXPAND: ("Transform", 1)}


def test_named_iam_granted_covers_iam():
    wanted = required_capabilities({"Resources": {"R": {"Type": "AWS::IAM::Role"}}})
    assert missing_capabilities(wanted, (NAMED_IAM,)) == []
    assert [n.capability for n in missing_capabilities(wanted, ())] == [IAM]
    named = required_capabilities({"Resources": {"R": {"Type": "AWS::IAM::Role",
                                                       "Properties": {"RoleName": "x"}}}})
    assert [n.capability for n in missing_capabilities(named, (IAM,))] == [NAMED_IAM]
