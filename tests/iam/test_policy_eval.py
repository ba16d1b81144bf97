"""The evaluator held to AWS's documented policy evaluation logic (sources in policy_eval's docstring).

Each test pins one rule with a request on each side of it, so a wrong rule fails at least one
assertion: a matcher that ignored wildcards, case, a negation, IfExists, a set qualifier, Deny
precedence or the KMS key-policy rule would flip one of the verdicts below.
"""

from __future__ import annotations

import pytest
from policy_eval import (
    ACCOUNT,
    Decision,
    PolicyError,
    Principal,
    Request,
    Resolver,
    action_matches,
    arn_like,
    conditions_hold,
    evaluate,
    role,
    service,
    user,
)

ALICE = role("alice")
BUCKET = "arn:aws:s3:::bucket"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="s3:GetObject", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="s3:GetObject", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(identity, action="s3:GetObject", resource=f"{BUCKET}/key", *, principal=ALICE, context=None,
           resource_policy=None, key_policy=False, boundary=None) -> Decision:
    request = Request(principal, action, resource, context or {})
    return evaluate(request, identity, resource_policy=resource_policy, key_policy=key_policy,
                    boundary=boundary).decision


def holds(condition: dict, context: dict, principal: Principal = ALICE) -> bool:
    return conditions_hold(condition, Request(principal, "s3:GetObject", "*", context))


# ------------------------------------------------------------------ effect and precedence

def test_nothing_applies_is_an_implicit_deny() -> None:
    assert decide([]) is Decision.IMPLICIT_DENY
    assert decide([policy(allow("s3:PutObject"))]) is Decision.IMPLICIT_DENY


def test_allow_allows() -> None:
    assert decide([policy(allow())]) is Decision.ALLOW


def test_explicit_deny_beats_allow_in_the_same_and_in_another_policy() -> None:
    assert decide([policy(allow(), deny())]) is Decision.EXPLICIT_DENY
    assert decide([policy(allow()), policy(deny())]) is Decision.EXPLICIT_DENY
    # A Deny whose condition does not hold does not apply: the Allow stands.
    conditional = deny(Condition={"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/other"}})
    assert decide([policy(allow(), conditional)]) is Decision.ALLOW


def test_resource_policy_deny_beats_identity_allow_and_vice_versa() -> None:
    bucket_deny = policy(deny(Principal="*"))
    assert decide([policy(allow())], resource_policy=bucket_deny) is Decision.EXPLICIT_DENY
    bucket_allow = policy(allow(Principal={"AWS": ALICE.arn}))
    assert decide([policy(deny())], resource_policy=bucket_allow) is Decision.EXPLICIT_DENY


def test_same_account_identity_or_resource_policy_allow_is_enough() -> None:
    bucket_allow = policy(allow(Principal={"AWS": ALICE.arn}))
    assert decide([], resource_policy=bucket_allow) is Decision.ALLOW
    assert decide([policy(allow())], resource_policy=policy(allow("s3:PutObject", Principal="*"))) \
        is Decision.ALLOW
    # The resource policy names someone else: it grants alice nothing.
    other = policy(allow(Principal={"AWS": role("bob").arn}))
    assert decide([], resource_policy=other) is Decision.IMPLICIT_DENY


def test_account_principal_in_a_resource_policy_delegates_to_iam() -> None:
    to_account = policy(allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert decide([], resource_policy=to_account) is Decision.IMPLICIT_DENY
    assert decide([policy(allow())], resource_policy=to_account) is Decision.ALLOW
    # The bare account id is the same principal.
    assert decide([], resource_policy=policy(allow(Principal={"AWS": ACCOUNT}))) is Decision.IMPLICIT_DENY
    # ...and a Deny to the account applies to everyone in it, but not to another account's role.
    deny_account = policy(deny(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert decide([policy(allow())], resource_policy=deny_account) is Decision.EXPLICIT_DENY
    assert decide([policy(allow())], principal=role("x", account="999999999999"),
                  resource_policy=deny_account) is Decision.ALLOW


def test_principal_forms() -> None:
    statement = allow(Principal={"AWS": [role("bob").arn, ALICE.arn]})
    assert decide([], resource_policy=policy(statement)) is Decision.ALLOW
    assert decide([], principal=user("alice"), resource_policy=policy(statement)) is Decision.IMPLICIT_DENY
    assert decide([], resource_policy=policy(allow(Principal={"AWS": "*"}))) is Decision.ALLOW
    by_service = policy(allow(Principal={"Service": "codebuild.amazonaws.com"}))
    assert decide([], principal=service("codebuild.amazonaws.com"), resource_policy=by_service) \
        is Decision.ALLOW
    assert decide([], principal=service("lambda.amazonaws.com"), resource_policy=by_service) \
        is Decision.IMPLICIT_DENY
    assert decide([], resource_policy=by_service) is Decision.IMPLICIT_DENY


def test_not_principal_denies_everyone_but_the_listed() -> None:
    everyone_but_alice = policy(deny(NotPrincipal={"AWS": ALICE.arn}))
    assert decide([policy(allow())], resource_policy=everyone_but_alice) is Decision.ALLOW
    assert decide([policy(allow())], principal=role("bob"), resource_policy=everyone_but_alice) \
        is Decision.EXPLICIT_DENY


# ------------------------------------------------------------------ actions and resources

def test_action_wildcards_and_case() -> None:
    assert action_matches("s3:Get*", "s3:GetObject")
    assert action_matches("s3:get*", "S3:GETOBJECT")  # action names are not case-sensitive
    assert not action_matches("s3:Get*", "s3:PutObject")
    assert action_matches("s3:GetObject?ersion", "s3:GetObjectVersion")
    assert not action_matches("s3:GetObject?", "s3:GetObject")  # ? is exactly one character
    assert not action_matches("s3:Get", "s3:GetObject")  # anchored: no prefix match
    assert action_matches("*", "kms:Decrypt")
    assert not action_matches("s3:*", "s3x:GetObject")


def test_not_action_allows_everything_else() -> None:
    power = policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert decide([power], "s3:PutObject") is Decision.ALLOW
    assert decide([power], "iam:PutRolePolicy") is Decision.IMPLICIT_DENY
    assert decide([power], "IAM:putrolepolicy") is Decision.IMPLICIT_DENY


def test_resource_wildcards_are_case_sensitive_and_per_segment() -> None:
    assert arn_like("arn:aws:s3:::bucket/stacks/*", "arn:aws:s3:::bucket/stacks/a.zip")
    assert not arn_like("arn:aws:s3:::bucket/stacks/*", "arn:aws:s3:::bucket/other/a.zip")
    assert not arn_like("arn:aws:s3:::bucket/Stacks/*", "arn:aws:s3:::bucket/stacks/a.zip")
    # The resource segment keeps its slashes and colons: * spans them.
    assert arn_like("arn:aws:codepipeline:eu-west-1:1:acme-*",
                    "arn:aws:codepipeline:eu-west-1:1:acme-x/Change/Approve")
    assert arn_like("arn:aws:logs:r:1:log-group:/g:log-stream:*",
                    "arn:aws:logs:r:1:log-group:/g:log-stream:s")
    # * inside one of the first five segments does not swallow a colon.
    assert not arn_like("arn:aws:s3*", "arn:aws:s3:::bucket")
    assert not arn_like("arn:aws:*:*:*:res", "arn:aws:sns:r:1:a:res")  # "res" is the sixth component
    assert arn_like("arn:aws:*:*:*:*", "arn:aws:sns:r:1:topic")
    assert arn_like("arn:aws:sns:?u-west-1:1:t", "arn:aws:sns:eu-west-1:1:t")
    assert arn_like("*", "anything at all")


def test_not_resource() -> None:
    everything_but = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"})
    assert decide([everything_but], resource=f"{BUCKET}/public/a") is Decision.ALLOW
    assert decide([everything_but], resource=f"{BUCKET}/secret/a") is Decision.IMPLICIT_DENY


# ------------------------------------------------------------------ conditions

def test_string_operators() -> None:
    assert holds({"StringEquals": {"s3:prefix": "stacks/"}}, {"s3:prefix": "stacks/"})
    assert not holds({"StringEquals": {"s3:prefix": "stacks/"}}, {"s3:prefix": "Stacks/"})
    assert holds({"StringEqualsIgnoreCase": {"s3:prefix": "stacks/"}}, {"s3:prefix": "Stacks/"})
    assert holds({"StringNotEquals": {"s3:prefix": "stacks/"}}, {"s3:prefix": "other/"})
    assert not holds({"StringNotEquals": {"s3:prefix": "stacks/"}}, {"s3:prefix": "stacks/"})
    assert holds({"StringLike": {"s3:prefix": "stacks/*"}}, {"s3:prefix": "stacks/a"})
    assert not holds({"StringLike": {"s3:prefix": "stacks/*"}}, {"s3:prefix": "other/stacks/a"})
    assert holds({"StringLike": {"s3:prefix": "stacks/?"}}, {"s3:prefix": "stacks/a"})
    assert not holds({"StringLike": {"s3:prefix": "stacks/?"}}, {"s3:prefix": "stacks/ab"})
    assert holds({"StringNotLike": {"s3:prefix": "stacks/*"}}, {"s3:prefix": "other/"})
    assert not holds({"StringNotLike": {"s3:prefix": "stacks/*"}}, {"s3:prefix": "stacks/a"})


def test_several_values_are_or_and_negated_operators_need_none_to_match() -> None:
    either = {"StringEquals": {"k:x": ["a", "b"]}}
    assert holds(either, {"k:x": "b"}) and not holds(either, {"k:x": "c"})
    neither = {"StringNotEquals": {"k:x": ["a", "b"]}}
    assert holds(neither, {"k:x": "c"}) and not holds(neither, {"k:x": "b"})


def test_several_keys_and_operators_are_and() -> None:
    both = {"StringEquals": {"k:x": "a", "k:y": "b"}}
    assert holds(both, {"k:x": "a", "k:y": "b"})
    assert not holds(both, {"k:x": "a", "k:y": "c"})
    two_operators = {"StringEquals": {"k:x": "a"}, "Bool": {"aws:SecureTransport": "true"}}
    assert holds(two_operators, {"k:x": "a"})
    assert not holds(two_operators, {"k:x": "a", "aws:SecureTransport": "false"})


def test_context_key_names_are_not_case_sensitive() -> None:
    assert holds({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": "1"})


def test_arn_operators() -> None:
    pattern = "arn:aws:iam::111122223333:role/acme-*"
    me = {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/acme-sync"}
    other = {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/intruder"}
    assert holds({"ArnLike": {"aws:PrincipalArn": pattern}}, me)
    assert not holds({"ArnLike": {"aws:PrincipalArn": pattern}}, other)
    assert holds({"ArnNotLike": {"aws:PrincipalArn": pattern}}, other)
    assert not holds({"ArnNotLike": {"aws:PrincipalArn": pattern}}, me)
    exact = "arn:aws:iam::111122223333:role/acme-sync"
    assert holds({"ArnEquals": {"aws:PrincipalArn": exact}}, me)
    assert not holds({"ArnEquals": {"aws:PrincipalArn": exact}}, other)
    assert holds({"ArnNotEquals": {"aws:PrincipalArn": exact}}, other)
    assert not holds({"ArnNotEquals": {"aws:PrincipalArn": exact}}, me)
    # ARN matching is case-sensitive.
    assert not holds({"ArnEquals": {"aws:PrincipalArn": exact.upper()}}, me)


def test_principal_arn_comes_from_the_caller() -> None:
    condition = {"ArnEquals": {"aws:PrincipalArn": ALICE.arn}}
    assert holds(condition, {}, principal=ALICE)
    assert not holds(condition, {}, principal=role("bob"))


def test_bool_compares_text_and_accepts_json_booleans() -> None:
    insecure = {"Bool": {"aws:SecureTransport": False}}  # awacs writes a JSON false
    assert holds(insecure, {"aws:SecureTransport": "false"})
    assert not holds(insecure, {"aws:SecureTransport": "true"})
    assert not holds(insecure, {})  # the default request is over TLS
    assert holds({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": "True"})


def test_numeric_operators() -> None:
    assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert holds({"NumericGreaterThan": {"k:n": "1"}}, {"k:n": "2"})
    assert not holds({"NumericGreaterThanEquals": {"k:n": "3"}}, {"k:n": "2"})
    assert holds({"NumericEquals": {"k:n": "2"}}, {"k:n": "2.0"})
    assert holds({"NumericNotEquals": {"k:n": "2"}}, {"k:n": "3"})


def test_absent_key_fails_positive_operators_and_passes_negated_ones() -> None:
    assert not holds({"StringEquals": {"k:x": "a"}}, {})
    assert not holds({"StringLike": {"k:x": "*"}}, {})  # not even a bare wildcard
    assert not holds({"ArnLike": {"k:x": "*"}}, {})
    assert not holds({"Bool": {"k:x": "false"}}, {})
    assert holds({"StringNotEquals": {"k:x": "a"}}, {})
    assert holds({"StringNotLike": {"k:x": "a"}}, {})
    assert holds({"ArnNotEquals": {"k:x": "a"}}, {})
    assert holds({"ArnNotLike": {"k:x": "a"}}, {})


def test_if_exists_passes_when_the_key_is_absent_and_checks_when_present() -> None:
    condition = {"StringEqualsIfExists": {"k:x": "a"}}
    assert holds(condition, {})
    assert holds(condition, {"k:x": "a"})
    assert not holds(condition, {"k:x": "b"})
    arn = {"ArnLikeIfExists": {"k:role": "arn:aws:iam::1:role/a*"}}
    assert holds(arn, {}) and not holds(arn, {"k:role": "arn:aws:iam::1:role/b"})
    negated = {"StringNotLikeIfExists": {"k:x": "a*"}}
    assert holds(negated, {}) and not holds(negated, {"k:x": "ab"})


def test_a_deny_with_a_negated_if_exists_operator_applies_when_the_key_is_absent() -> None:
    """The trap of "deny uploads not encrypted with aws:kms" written with ...IfExists.

    "If the key is not present, evaluate the condition element as true" (Condition operators,
    ...IfExists): an upload without the header (the bucket's default encryption applies) is denied.
    Only a Null check limits the Deny to requests that carry the header.
    """
    bucket_policy = policy(deny("s3:PutObject", Principal="*", Condition={
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}))
    no_header: dict = {}
    assert decide([policy(allow("s3:*"))], "s3:PutObject", context=no_header, resource_policy=bucket_policy) \
        is Decision.EXPLICIT_DENY
    guarded = policy(deny("s3:PutObject", Principal="*", Condition={
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"}}))
    assert decide([policy(allow("s3:*"))], "s3:PutObject", resource_policy=guarded) is Decision.ALLOW
    assert decide([policy(allow("s3:*"))], "s3:PutObject", resource_policy=guarded,
                  context={"s3:x-amz-server-side-encryption": "AES256"}) is Decision.EXPLICIT_DENY
    assert decide([policy(allow("s3:*"))], "s3:PutObject", resource_policy=guarded,
                  context={"s3:x-amz-server-side-encryption": "aws:kms"}) is Decision.ALLOW


def test_null() -> None:
    assert holds({"Null": {"k:x": "true"}}, {})
    assert not holds({"Null": {"k:x": "true"}}, {"k:x": "v"})
    assert holds({"Null": {"k:x": "false"}}, {"k:x": "v"})
    assert not holds({"Null": {"k:x": "false"}}, {})


def test_set_qualifiers() -> None:
    any_value = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}
    assert holds(any_value, {"aws:TagKeys": ["cost", "team"]})
    assert not holds(any_value, {"aws:TagKeys": ["cost"]})
    assert not holds(any_value, {})  # absent: no value matches
    all_values = {"ForAllValues:StringLike": {"aws:TagKeys": ["team", "owner*"]}}
    assert holds(all_values, {"aws:TagKeys": ["team", "owner-x"]})
    assert not holds(all_values, {"aws:TagKeys": ["team", "cost"]})
    assert holds(all_values, {})  # absent: vacuously true
    with pytest.raises(PolicyError, match="several values"):
        holds({"StringEquals": {"aws:TagKeys": "team"}}, {"aws:TagKeys": ["a", "b"]})


def test_unmodelled_forms_fail_loudly() -> None:
    with pytest.raises(PolicyError, match="DateGreaterThan"):
        holds({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {})
    with pytest.raises(PolicyError, match="policy variables"):
        decide([policy(allow(resource="arn:aws:s3:::b/${aws:username}/*"))])


# ------------------------------------------------------------------ KMS and permissions boundaries

KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234"
ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def test_kms_needs_the_key_policy_even_with_an_iam_allow() -> None:
    only_bob = policy(allow("kms:Decrypt", Principal={"AWS": role("bob").arn}))
    iam_allow = [policy(allow("kms:*"))]
    assert decide(iam_allow, "kms:Decrypt", KEY, resource_policy=only_bob, key_policy=True) \
        is Decision.IMPLICIT_DENY
    # The same pair on a bucket would allow: identity OR resource policy.
    assert decide(iam_allow, "kms:Decrypt", KEY, resource_policy=only_bob, key_policy=False) is Decision.ALLOW


def test_kms_key_policy_naming_the_caller_allows_on_its_own() -> None:
    to_alice = policy(allow("kms:Decrypt", Principal={"AWS": ALICE.arn}))
    assert decide([], "kms:Decrypt", KEY, resource_policy=to_alice, key_policy=True) is Decision.ALLOW


def test_kms_root_delegation_lets_iam_policies_count() -> None:
    delegating = policy(allow("kms:*", Principal=ROOT))
    assert decide([policy(allow("kms:Decrypt"))], "kms:Decrypt", KEY, resource_policy=delegating,
                  key_policy=True) is Decision.ALLOW
    assert decide([], "kms:Decrypt", KEY, resource_policy=delegating, key_policy=True) \
        is Decision.IMPLICIT_DENY
    # Delegation with a condition on the caller: only the named roles' IAM policies count.
    scoped = policy(allow("kms:Decrypt", Principal=ROOT,
                          Condition={"ArnLike": {"aws:PrincipalArn": [role("bob").arn]}}))
    assert decide([policy(allow("kms:*"))], "kms:Decrypt", KEY, resource_policy=scoped, key_policy=True) \
        is Decision.IMPLICIT_DENY
    assert decide([policy(allow("kms:*"))], "kms:Decrypt", KEY, principal=role("bob"), resource_policy=scoped,
                  key_policy=True) is Decision.ALLOW


def test_kms_iam_deny_works_without_the_key_policy() -> None:
    to_alice = policy(allow("kms:Decrypt", Principal={"AWS": ALICE.arn}))
    assert decide([policy(deny("kms:Decrypt"))], "kms:Decrypt", KEY, resource_policy=to_alice,
                  key_policy=True) is Decision.EXPLICIT_DENY


def test_permissions_boundary_caps_identity_allows() -> None:
    boundary = policy(allow("s3:GetObject"))
    assert decide([policy(allow("s3:*"))], boundary=boundary) is Decision.ALLOW
    assert decide([policy(allow("s3:*"))], "s3:PutObject", boundary=boundary) is Decision.IMPLICIT_DENY
    assert decide([policy(allow("s3:*"))], boundary=policy(allow("s3:*"), deny())) is Decision.EXPLICIT_DENY


def test_trust_policy_with_source_account() -> None:
    trust = policy({"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})

    def assume(service_name: str, account: str | None) -> Decision:
        context = {"aws:SourceAccount": account} if account else {}
        return evaluate(Request(service(service_name), "sts:AssumeRole", role("r").arn, context),
                        resource_policy=trust).decision

    assert assume("codebuild.amazonaws.com", ACCOUNT) is Decision.ALLOW
    assert assume("codebuild.amazonaws.com", "999999999999") is Decision.IMPLICIT_DENY
    assert assume("codebuild.amazonaws.com", None) is Decision.IMPLICIT_DENY
    assert assume("lambda.amazonaws.com", ACCOUNT) is Decision.IMPLICIT_DENY


# ------------------------------------------------------------------ template intrinsics

TEMPLATE = {
    "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Mappings": {"Hosts": {"aws": {"Host": "console.aws.amazon.com"}}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "my-bucket"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "Path": "/p/"}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
    },
}


def test_resolver_resolves_the_intrinsics_the_generator_uses() -> None:
    r = Resolver(TEMPLATE, stack_name="s")
    assert r.value({"Fn::GetAtt": ["Bucket", "Arn"]}) == "arn:aws:s3:::my-bucket"
    assert r.value({"Fn::Sub": "${Bucket.Arn}/stacks/*"}) == "arn:aws:s3:::my-bucket/stacks/*"
    assert r.value({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}) \
        == f"arn:aws:iam::{ACCOUNT}:root"
    assert r.value({"Fn::GetAtt": ["Role", "Arn"]}) == f"arn:aws:iam::{ACCOUNT}:role/p/r"
    assert r.value({"Fn::Sub": ["${X}-${AWS::Region}", {"X": {"Ref": "Bucket"}}]}) == "my-bucket-eu-west-1"
    assert r.value({"Fn::Sub": "${!Literal}"}) == "${Literal}"
    assert r.value({"Fn::Join": [":", ["a", {"Ref": "Env"}]]}) == "a:prod"
    assert r.value({"Fn::If": ["IsProd", "yes", "no"]}) == "yes"
    assert r.value(["a", {"Ref": "AWS::NoValue"}]) == ["a"]
    host = {"Fn::FindInMap": ["Hosts", {"Ref": "AWS::Partition"}, "Host"]}
    assert r.value(host) == "console.aws.amazon.com"
    assert r.value({"Ref": "Key"}) in r.value({"Fn::GetAtt": ["Key", "Arn"]})
    assert r.value({"Ref": "Topic"}).startswith(f"arn:aws:sns:eu-west-1:{ACCOUNT}:s-Topic-")
    assert Resolver(TEMPLATE, parameters={"Env": "dev"}).value({"Fn::If": ["IsProd", "yes", "no"]}) == "no"


def test_resolver_refuses_what_it_does_not_know() -> None:
    with pytest.raises(PolicyError, match="Nope"):
        Resolver(TEMPLATE).value({"Ref": "Nope"})
    with pytest.raises(PolicyError, match="attribute"):
        Resolver(TEMPLATE).value({"Fn::GetAtt": ["Bucket", "Nope"]})
    with pytest.raises(PolicyError, match="Fn::ImportValue"):
        Resolver(TEMPLATE).value({"Fn::ImportValue": "x"})
