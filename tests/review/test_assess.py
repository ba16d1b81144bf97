"""review.changeset and review.assess on DescribeChangeSet responses in botocore's real shapes
(issue 11, item 1).

The responses are served by botocore's Stubber (tests/review/changesets.py), which validates each one
against botocore's output shape for DescribeChangeSet and each request against its input shape.
"""

from __future__ import annotations

import itertools

import pytest
from changesets import (
    ACCOUNT,
    CHANGE_SET,
    CHANGE_SET_ID,
    REGION,
    STACK,
    STACK_ID,
    StubbedCloudFormation,
    change,
    detail,
    empty_response,
    response,
)

from review.assess import HIGH, LOW, MEDIUM, STATEFUL_TYPES, assess
from review.changeset import ChangeSetError, read_change_set
from review.render import console_link, render_text

OTHER = "210987654321"
NESTED_STACK = f"{STACK}-Network-1ABCDEF"
NESTED_ID = (f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{CHANGE_SET}-Network-1XYZ/"
             "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
NESTED_STACK_ID = (f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{NESTED_STACK}/"
                   "1a2b3c4d-0000-4000-8000-000000000001")


def read(*responses: dict, policy: dict | None = None):
    cfn = StubbedCloudFormation()
    cfn.first(responses[0])
    for previous, resp in itertools.pairwise(responses):
        cfn.page(resp, StackName=STACK, ChangeSetName=CHANGE_SET, NextToken=previous["NextToken"])
    with cfn.stubber:
        view = read_change_set(cfn.client, STACK, CHANGE_SET)
    cfn.stubber.assert_no_pending_responses()
    return view, assess(view, policy=policy)


def review_of(*changes: dict, policy: dict | None = None):
    return read(response(list(changes)), policy=policy)[1]


def role(trust_principals: dict, *, policies: list | None = None) -> dict:
    properties = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": trust_principals, "Action": "sts:AssumeRole"}]}}
    if policies is not None:
        properties["Policies"] = policies
    return {"Properties": properties}


# ---- reading ----

def test_every_page_is_read_and_counted() -> None:
    first = response([change("Topic", "AWS::SNS::Topic", "Add"), change("Queue", "AWS::SQS::Queue", "Add")],
                     next_token="page-2")
    second = response([change("Old", "AWS::SNS::Topic", "Remove", policy_action="Delete"),
                       change("Fn", "AWS::Lambda::Function", "Modify", replacement="False",
                              details=[detail("MemorySize")])])
    view, review = read(first, second)
    assert [c.logical_id for c in view.changes] == ["Topic", "Queue", "Old", "Fn"]
    assert review.counts == {"Add": 2, "Modify": 1, "Remove": 1, "Import": 0}
    assert review.risk == MEDIUM
    assert review.summary_line() == "Risk MEDIUM: 2 add, 1 modify, 1 remove"


def test_nested_change_sets_are_read_by_arn_and_judged_with_their_parent() -> None:
    cfn = StubbedCloudFormation()
    cfn.first(response([change("Network", "AWS::CloudFormation::Stack", "Modify", replacement="False",
                               details=[detail("TemplateURL", source="Automatic")], nested=NESTED_ID)]))
    cfn.page(response([change("Data", "AWS::DynamoDB::Table", "Modify", replacement="True",
                              policy_action="ReplaceAndDelete",
                              details=[detail("TableName", recreation="Always")])],
                      stack=NESTED_STACK, stack_id=NESTED_STACK_ID, name=f"{CHANGE_SET}-Network-1XYZ",
                      change_set_id=NESTED_ID, parent=CHANGE_SET_ID),
             ChangeSetName=NESTED_ID)
    with cfn.stubber:
        view = read_change_set(cfn.client, STACK, CHANGE_SET)
    cfn.stubber.assert_no_pending_responses()
    assert [c.logical_id for c in view.all_changes()] == ["Network", "Data"]
    review = assess(view)
    assert review.nested_change_sets == 1
    assert review.risk == HIGH
    loss = review.of_kind("data-loss")
    assert [(f.stack, f.logical_id) for f in loss] == [(NESTED_STACK, "Data")]
    assert "ReplaceAndDelete" in loss[0].message
    assert f"{NESTED_STACK}/Data replaced (TableName)" in review.summary_line()


@pytest.mark.parametrize("reason", [
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed."])
def test_a_failed_change_set_with_a_no_changes_reason_is_empty(reason: str) -> None:
    view, review = read(empty_response(reason))
    assert view.is_empty and not review.has_changes
    assert review.summary_line().startswith("No changes:")


def test_a_complete_change_set_without_resource_changes_is_not_empty() -> None:
    # Outputs-only changes: CloudFormation makes an executable change set without resource changes.
    view, review = read(response([]))
    assert not view.is_empty and review.has_changes
    assert review.risk == LOW and review.reasons == ("no resource changes",)


def test_a_change_set_that_failed_for_another_reason_cannot_be_reviewed() -> None:
    cfn = StubbedCloudFormation().first(response([], status="FAILED", execution="UNAVAILABLE",
                                                 reason="Template format error: Unresolved resource "
                                                        "dependencies"))
    with cfn.stubber, pytest.raises(ChangeSetError, match="failed: Template format error"):
        read_change_set(cfn.client, STACK, CHANGE_SET)


def test_a_missing_change_set_is_a_clear_error() -> None:
    cfn = StubbedCloudFormation()
    cfn.stubber.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet [x] does not exist",
                                 expected_params={"IncludePropertyValues": True, "StackName": STACK,
                                                  "ChangeSetName": CHANGE_SET})
    with cfn.stubber, pytest.raises(ChangeSetError, match="does not exist"):
        read_change_set(cfn.client, STACK, CHANGE_SET)


# ---- risk rules ----

def test_tags_and_metadata_only_are_low() -> None:
    review = review_of(
        change("Bucket", "AWS::S3::Bucket", "Modify", replacement="False",
               details=[detail("Tags", attribute="Tags"), detail("", attribute="Metadata")]))
    assert review.risk == LOW and review.reasons == ("tags or metadata only",)


def test_a_property_change_is_medium() -> None:
    review = review_of(change("Bucket", "AWS::S3::Bucket", "Modify", replacement="False",
                              details=[detail("Tags", attribute="Tags"), detail("VersioningConfiguration")]))
    assert review.risk == MEDIUM and review.findings == ()


def test_replacement_names_the_properties_that_cause_it() -> None:
    review = review_of(change("Fn", "AWS::Lambda::Function", "Modify", replacement="Conditional",
                              details=[detail("FunctionName", recreation="Conditionally"),
                                       detail("MemorySize")]))
    [finding] = review.findings
    assert (finding.kind, finding.message) == ("replacement", "may be replaced (FunctionName)")
    assert review.risk == MEDIUM  # a stateless replacement loses nothing


def test_replacing_a_database_is_data_loss_and_high() -> None:
    review = review_of(change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True",
                              policy_action="ReplaceAndDelete",
                              details=[detail("DBInstanceIdentifier", recreation="Always")]))
    assert review.risk == HIGH and "data-loss" in review.reasons
    assert [f.message for f in review.of_kind("data-loss")] == ["replaced, data deleted (ReplaceAndDelete)"]
    line = review.summary_line()
    assert line.startswith("Risk HIGH: 1 modify")
    assert "replaces: Database replaced (DBInstanceIdentifier)" in line
    assert "DATA LOSS: Database replaced, data deleted (ReplaceAndDelete)" in line


def test_removing_a_retained_stateful_resource_is_still_high_but_keeps_its_data() -> None:
    review = review_of(change("Table", "AWS::DynamoDB::Table", "Remove", policy_action="Retain"))
    assert review.of_kind("data-loss") == []
    assert [f.message for f in review.of_kind("stateful")] == ["removed, data kept (Retain)"]
    assert review.risk == HIGH


def test_removing_a_stateless_resource_is_medium() -> None:
    review = review_of(change("Topic", "AWS::SNS::Topic", "Remove", policy_action="Delete"))
    assert review.risk == MEDIUM and review.findings == ()


def test_the_stateful_list_covers_the_documented_families() -> None:
    for kind in ("AWS::RDS::DBCluster", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::EFS::FileSystem",
                 "AWS::EC2::Volume", "AWS::ElastiCache::ReplicationGroup", "AWS::Neptune::DBCluster",
                 "AWS::DocDB::DBCluster", "AWS::OpenSearchService::Domain", "AWS::Kinesis::Stream",
                 "AWS::SQS::Queue"):
        assert kind in STATEFUL_TYPES


def test_trust_in_another_account_is_broadening() -> None:
    before = role({"Service": "lambda.amazonaws.com"})
    after = role({"Service": "lambda.amazonaws.com", "AWS": f"arn:aws:iam::{OTHER}:root"})
    review = review_of(change("Role", "AWS::IAM::Role", "Modify", replacement="False",
                              details=[detail("AssumeRolePolicyDocument")], before=before, after=after))
    assert [f.message for f in review.of_kind("broadening")] == [f"trusts account {OTHER}"]
    assert review.risk == HIGH


def test_a_new_principal_in_the_same_account_widens_an_existing_role() -> None:
    before = role({"Service": "lambda.amazonaws.com"})
    after = role({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]})
    review = review_of(change("Role", "AWS::IAM::Role", "Modify", replacement="False",
                              details=[detail("AssumeRolePolicyDocument")], before=before, after=after))
    assert [f.message for f in review.of_kind("broadening")] == ["new principal Service:ec2.amazonaws.com"]


def test_a_new_role_for_its_service_is_not_broadening_but_wildcards_are() -> None:
    plain = review_of(change("Role", "AWS::IAM::Role", "Add",
                             after=role({"Service": "lambda.amazonaws.com"})))
    assert plain.of_kind("broadening") == [] and plain.risk == MEDIUM
    admin = review_of(change("Role", "AWS::IAM::Role", "Add", after=role(
        {"Service": "lambda.amazonaws.com"},
        policies=[{"PolicyName": "all", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}])))
    assert sorted(f.message for f in admin.of_kind("broadening")) == ["allows s3:*", "on every resource (*)"]


def test_a_policy_statement_that_only_narrows_is_not_broadening() -> None:
    wide = {"Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                             "Resource": "*"}]}}}
    narrow = {"Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                               "Resource": "arn:aws:s3:::b/*"}]}}}
    review = review_of(change("Policy", "AWS::IAM::ManagedPolicy", "Modify", replacement="False",
                              details=[detail("PolicyDocument")], before=wide, after=narrow))
    assert review.of_kind("broadening") == [] and review.risk == MEDIUM


def test_a_bucket_policy_open_to_anyone_is_broadening() -> None:
    after = {"Properties": {"Bucket": "b", "PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}}
    review = review_of(change("Policy", "AWS::S3::BucketPolicy", "Add", after=after))
    assert [f.message for f in review.of_kind("broadening")] == ["allows anyone (Principal *)"]


def test_ingress_from_anywhere_is_broadening() -> None:
    before = {"Properties": {"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                                       "CidrIp": "10.0.0.0/8"}]}}
    after = {"Properties": {"SecurityGroupIngress": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv6": "::/0"}]}}
    review = review_of(change("Sg", "AWS::EC2::SecurityGroup", "Modify", replacement="False",
                              details=[detail("SecurityGroupIngress")], before=before, after=after))
    assert [f.message for f in review.of_kind("broadening")] == ["ingress from ::/0 ports 22-22"]
    assert review.risk == HIGH


def test_permission_changes_the_change_set_does_not_show_are_high() -> None:
    review = review_of(change("Role", "AWS::IAM::Role", "Modify", replacement="False",
                              details=[detail("Policies")]))
    assert review.of_kind("unreadable-permissions") and review.risk == HIGH


def test_the_stack_policy_deny_marks_protected_resources() -> None:
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
         "Resource": "LogicalResourceId/Database"}]}
    replaced = change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True",
                      policy_action="ReplaceAndSnapshot", details=[detail("Engine", recreation="Always")])
    modified = change("Other", "AWS::SNS::Topic", "Modify", replacement="False",
                      details=[detail("DisplayName")])
    review = review_of(replaced, modified, policy=policy)
    assert [(f.logical_id, f.message) for f in review.of_kind("protected")] == [
        ("Database", "stack policy denies Update:Replace")]
    assert "protected: Database stack policy denies Update:Replace" in review.summary_line()


def test_a_stack_policy_without_a_matching_allow_protects_too() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": "Update:Modify", "Principal": "*", "Resource": "*",
                             "Condition": {"StringEquals": {"ResourceType": ["AWS::SNS::Topic"]}}}]}
    review = review_of(change("Fn", "AWS::Lambda::Function", "Modify", replacement="False",
                              details=[detail("MemorySize")]), policy=policy)
    assert [f.message for f in review.of_kind("protected")] == ["stack policy allows no Update:Modify"]


def test_overwriting_drift_is_high() -> None:
    review = review_of(change("Fn", "AWS::Lambda::Function", "Modify", replacement="False",
                              details=[detail("MemorySize")], drift="MODIFIED"))
    assert review.of_kind("drift") and review.risk == HIGH


# ---- the one line and the full text ----

def test_the_summary_is_shortened_to_the_limit_and_says_what_it_left_out() -> None:
    changes = [change(f"Table{i:02d}", "AWS::DynamoDB::Table", "Remove", policy_action="Delete")
               for i in range(30)]
    review = review_of(*changes)
    full = review.summary_line()
    assert len(full) > 300
    short = review.summary_line(200)
    assert len(short) <= 200
    assert short.startswith("Risk HIGH: 30 remove. DATA LOSS: Table00 removed")
    assert "more)" in short


def test_the_full_text_lists_findings_and_changes() -> None:
    review = review_of(change("Database", "AWS::RDS::DBInstance", "Modify", replacement="True",
                              policy_action="ReplaceAndDelete",
                              details=[detail("DBInstanceIdentifier", recreation="Always")]))
    text = render_text(review)
    assert text.splitlines()[0] == review.summary_line()
    assert "  data-loss                Database (AWS::RDS::DBInstance): replaced, data deleted" in text
    assert "  Modify   Database (AWS::RDS::DBInstance) [replacement True, ReplaceAndDelete]" in text
    assert review.to_dict()["summary"] == review.summary_line()


def test_the_console_link_carries_both_arns_url_encoded() -> None:
    link = console_link(STACK_ID, CHANGE_SET_ID)
    assert link.startswith(f"https://console.aws.amazon.com/cloudformation/home?region={REGION}"
                           "#/stacks/changesets/changes?stackId=arn%3Aaws%3Acloudformation%3A")
    assert "changeSetId=arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3AchangeSet%2Facme-" in link
    gov = console_link(STACK_ID.replace("arn:aws:", "arn:aws-us-gov:"),
                       CHANGE_SET_ID.replace("arn:aws:", "arn:aws-us-gov:"))
    assert gov.startswith("https://console.amazonaws-us-gov.com/")


ATLAS = "MongoDB::Atlas::Cluster"


def test_removing_an_owner_named_stateful_type_is_high_risk_data_loss() -> None:
    # pipelines/config.yaml review.stateful_types (tests/generator/test_stateful_types.py)
    import boto3
    from botocore.stub import Stubber

    cfn = boto3.client("cloudformation", region_name="eu-west-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    stub = Stubber(cfn)
    stub.add_response("describe_change_set", response([change("Cluster", ATLAS, "Remove",
                                                              policy_action="Delete")]))
    with stub:
        view = read_change_set(cfn, "acme-database", "acme-change")
    assert assess(view).risk == "medium"  # not on the built-in list
    review = assess(view, stateful_types=frozenset({ATLAS}))
    assert review.risk == "high" and review.reasons == ("data-loss",)
    assert "DATA LOSS: Cluster removed, data deleted (Delete)" in review.summary_line()
