"""Sharding the bootstrap template into nested stacks (generator/bootstrap/shards.py).

The example repository never shards; 400 and 990 stacks do. For those, every template must be under
every CloudFormation limit, every pipeline in exactly one shard, every child parameter passed by the
parent, no reference left dangling, and each pipeline, resolved back through the parameters, exactly
what the unsharded build gives it.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from shard_repos import REPO, named, stacks, substitute

from generator import logical_ids
from generator.bootstrap import shards as sharding
from generator.bootstrap.cfnlint_rules import lint
from generator.bootstrap.intrinsics import SAME_IN_NESTED_STACK
from generator.bootstrap.shards import (
    NESTED_STACK_TYPE,
    SHARD_SLOTS,
    bootstrap_templates,
    render_bootstrap,
    shard_key,
    shard_slot,
)
from generator.bootstrap.template import build_template, render_template
from generator.errors import GenerateError

PIPELINE = "AWS::CodePipeline::Pipeline"


def _compact_size(text: str) -> int:
    return len(json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True).encode())


@pytest.fixture(scope="module", params=[400, 990])
def sharded(request):
    config, made = stacks(request.param)
    templates = bootstrap_templates(config, made)
    unsharded = build_template(config, made, check_limits=False).to_dict()
    return request.param, made, templates, json.loads(templates.text), unsharded


def test_the_example_repository_is_not_sharded() -> None:
    templates = render_bootstrap(REPO)
    assert templates.shards == ()
    # exactly today's output (the golden test, tests/generator/test_template.py, holds its bytes)
    assert templates.text == render_template(REPO)
    assert "Shard" not in templates.text


def test_the_largest_template_that_fits_is_not_sharded() -> None:
    config, made = stacks(150)
    templates = bootstrap_templates(config, made)
    assert templates.shards == ()
    assert templates.text == sharding.committed(build_template(config, made).to_dict())


def test_every_template_is_under_every_limit(sharded) -> None:
    count, _, templates, parent, _ = sharded
    assert len(templates.shards) == SHARD_SLOTS  # 400 stacks fill every slot
    for doc, text in [(parent, templates.text), *((json.loads(s.text), s.text) for s in templates.shards)]:
        assert len(doc["Resources"]) <= 500
        assert _compact_size(text) <= 1_000_000
        assert len(doc.get("Parameters", {})) <= 200
        assert len(doc.get("Outputs", {})) <= 200
    # the hash spreads the stacks evenly enough: the fullest shard has room to spare
    assert max(len(s.stacks) for s in templates.shards) <= {400: 40, 990: 80}[count]
    # the measure that decides: CloudFormation reads the compact body, which is what s.body is
    assert all(len(s.body.encode()) == _compact_size(s.text) for s in templates.shards)


def test_every_pipeline_is_in_exactly_one_shard_and_not_in_the_parent(sharded) -> None:
    count, made, templates, parent, _unsharded = sharded
    assert not [k for k, v in parent["Resources"].items() if v["Type"] == PIPELINE and k != "SyncPipeline"]
    seen: dict[str, str] = {}
    for shard in templates.shards:
        doc = json.loads(shard.text)
        assert doc["Metadata"]["Changegate"]["Stacks"] == list(shard.stacks)
        for folder in shard.stacks:
            assert shard_slot(folder) == shard.slot  # stable: the folder alone decides
        for lid, resource in doc["Resources"].items():
            assert resource["Type"] == PIPELINE
            assert lid not in seen, f"{lid} in {seen[lid]} and {shard.logical_id}"
            seen[lid] = shard.logical_id
    expected = {logical_ids.stack_pipeline(f) for f in made}
    assert set(seen) == expected and len(seen) == count


def test_the_parent_holds_only_shared_resources(sharded) -> None:
    """A resource that exists once per stack and is left in the parent would make the parent grow with
    the stacks: a new per-stack resource must be listed in shards.PER_STACK_IDS."""
    _count, made, _, parent, unsharded = sharded
    shared = {k for k in unsharded["Resources"]} - {logical_ids.stack_pipeline(f) for f in made}
    nested = {k for k, v in parent["Resources"].items() if v["Type"] == NESTED_STACK_TYPE}
    assert set(parent["Resources"]) == shared | nested
    folders = {logical_ids.logical_id(f) for f in made}
    assert not [k for k in shared if any(k.endswith(f) for f in folders)]
    # 23 protection rules at 990 stacks (about 40 stacks a rule), the rest constant
    assert len(shared) < 60


def test_every_parameter_is_passed_and_nothing_dangles(sharded) -> None:
    _, _, templates, parent, _ = sharded
    for shard in templates.shards:
        doc = json.loads(shard.text)
        nested = parent["Resources"][shard.logical_id]
        passed = nested["Properties"]["Parameters"]
        assert set(passed) == set(doc["Parameters"])
        assert all(v["Type"] == "String" for v in doc["Parameters"].values())
        # what the parent passes exists in the parent
        assert named(passed) <= set(parent["Resources"])
        # what the child names exists in the child, as CloudFormation resolves it
        resolvable = set(doc["Parameters"]) | set(doc["Resources"]) | SAME_IN_NESTED_STACK
        assert named(doc["Resources"]) <= resolvable, named(doc["Resources"]) - resolvable
        assert "AWS::StackName" not in json.dumps(doc)  # the nested stack's name is not the parent's


def test_resolved_back_each_pipeline_is_what_the_unsharded_build_gives_it(sharded) -> None:
    _, _, templates, parent, unsharded = sharded
    for shard in templates.shards:
        doc = json.loads(shard.text)
        passed = parent["Resources"][shard.logical_id]["Properties"]["Parameters"]
        for lid, resource in doc["Resources"].items():
            assert substitute(resource, passed) == unsharded["Resources"][lid], lid


def test_shard_templates_are_content_addressed_in_the_staging_bucket(sharded) -> None:
    _, _, templates, parent, _ = sharded
    url = re.compile(r"\Ahttps://changegate-staging-\$\{AWS::AccountId\}-\$\{AWS::Region\}\.s3\.\$\{AWS::Region\}"
                     r"\.\$\{AWS::URLSuffix\}/changegate/acme/shards/[0-9a-f]{64}\.json\Z")
    keys = set()
    for shard in templates.shards:
        nested = parent["Resources"][shard.logical_id]
        sub = nested["Properties"]["TemplateURL"]["Fn::Sub"]
        assert url.match(sub), sub
        assert sub.endswith("/" + shard.key) and shard.key == shard_key("acme", shard.body)
        keys.add(shard.key)
        assert parent["Metadata"]["Changegate"]["Shards"][shard.logical_id] == {
            "Key": shard.key, "Stacks": list(shard.stacks), "Template": f"shards/{shard.slot:02d}.json"}
    assert len(keys) == len(templates.shards)


def test_the_denies_that_keep_roles_off_the_bootstrap_stack_cover_its_shards(sharded) -> None:
    _, _, _, parent, _ = sharded
    shard_arn = ("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:"
                 "stack/acme-pipelines-*/*")
    statements = [s for s in _statements(parent) if s.get("Sid") == "NeverTouchTheBootstrapStack"]
    assert len(statements) >= 4  # the pipeline role, the boundary, the stack-policy and protection roles
    for statement in statements:
        assert statement["Effect"] == "Deny"
        assert {"Fn::Sub": shard_arn} in statement["Resource"]


def test_cfn_lint_reports_nothing_on_the_parent_and_the_shards(sharded) -> None:
    """cfn-lint costs about 10 s for a 600 KB template: every shard at 400 stacks, the parent and the
    fullest shard at 990 (the shards differ only in how many pipelines they hold)."""
    count, _, templates, _, _ = sharded
    linted = templates.shards if count == 400 else [max(templates.shards, key=lambda s: len(s.stacks))]
    for text in [templates.text, *(s.text for s in linted)]:
        assert [f"{m.rule.id} {m.message}" for m in lint(text)] == []


def test_placement_is_stable_when_stacks_are_added() -> None:
    config, made = stacks(400)
    before = {s.logical_id: set(s.stacks) for s in bootstrap_templates(config, made).shards}
    more = dict(made)
    one = made["network-0000"]
    for folder in ("aaa-first", "mmm-middle"):  # sorted before and among the others
        more[folder] = replace(one, source=replace(one.source, name=folder), stack_name=f"acme-{folder}",
                               pipeline_name=f"acme-{folder}")
    after = {s.logical_id: set(s.stacks) for s in bootstrap_templates(config, more).shards}
    moved = {lid: after[lid] ^ before[lid] for lid in before if after[lid] != before[lid]}
    assert set().union(*moved.values()) == {"aaa-first", "mmm-middle"}


def test_more_pipelines_than_a_region_holds_are_refused() -> None:
    config, made = stacks(1000)
    with pytest.raises(GenerateError, match=r"1001 pipelines .* exceed CodePipeline's 1000 per region "
                                            r"\(1000 stacks, 1000 with a pipeline\)"):
        bootstrap_templates(config, made)


def test_999_stacks_fit() -> None:
    config, made = stacks(999)
    templates = bootstrap_templates(config, made)
    assert sum(len(s.stacks) for s in templates.shards) == 999


def test_a_stack_named_like_a_shard_is_refused() -> None:
    config, made = stacks(3)
    one = made["network-0000"]
    made["pipelines-old"] = replace(one, source=replace(one.source, name="pipelines-old"),
                                    stack_name="acme-pipelines-old", pipeline_name="acme-pipelines-old")
    with pytest.raises(GenerateError, match=r"stacks/pipelines-old: stack name 'acme-pipelines-old' starts "
                                            r"with 'acme-pipelines-'"):
        bootstrap_templates(config, made)


def _statements(doc: dict) -> list[dict]:
    found = []
    for resource in doc["Resources"].values():
        props = resource.get("Properties", {})
        documents = [props["PolicyDocument"]] if "PolicyDocument" in props else \
            [p["PolicyDocument"] for p in props.get("Policies", [])]
        for document in documents:
            found.extend(document["Statement"])
    return found
