"""Refuse a region where the bootstrap stack cannot work, before anything is deployed (F11).

Two sources, both offline:

- Resource types: cfn-lint ships one resource-schema list per region
  (``cfnlint/data/schemas/providers/<region>.json``). Its rule E3006 ("Resource type ... does not
  exist in ...") asks ``PROVIDER_SCHEMA_MANAGER.get_resource_types(region=...)``; so does this module.
  CloudFormation itself would only fail mid-deploy, with a half-created stack to roll back.
- Actions: CodePipeline's CodeStarSourceConnection action (the sync pipeline's GitHub source) is
  not in cfn-lint's data. The CodePipeline user guide says: "This feature is not available in the
  Asia Pacific (Hong Kong), Asia Pacific (Hyderabad), Asia Pacific (Jakarta), Asia Pacific
  (Melbourne), Asia Pacific (Osaka), Africa (Cape Town), Middle East (Bahrain), Middle East (UAE),
  Europe (Spain), Europe (Zurich), Israel (Tel Aviv), or AWS GovCloud (US-West) Regions"
  (docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html).

Both lists age: ``changegate deploy --no-region-check`` skips this check when AWS has since added
a type or an action to the region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generator.errors import UsageError

CONNECTION_TYPE = "AWS::CodeConnections::Connection"
CONNECTION_ACTION = "CodeStarSourceConnection"
PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"
# The Regions the user guide names, by code.
CONNECTION_ACTION_UNAVAILABLE = frozenset({
    "ap-east-1",  # Asia Pacific (Hong Kong)
    "ap-south-2",  # Asia Pacific (Hyderabad)
    "ap-southeast-3",  # Asia Pacific (Jakarta)
    "ap-southeast-4",  # Asia Pacific (Melbourne)
    "ap-northeast-3",  # Asia Pacific (Osaka)
    "af-south-1",  # Africa (Cape Town)
    "me-south-1",  # Middle East (Bahrain)
    "me-central-1",  # Middle East (UAE)
    "eu-south-2",  # Europe (Spain)
    "eu-central-2",  # Europe (Zurich)
    "il-central-1",  # Israel (Tel Aviv)
    "us-gov-west-1",  # AWS GovCloud (US-West)
})
ANOTHER_REGION = "deploy to a region that has it (--region)"


@dataclass(frozen=True)
class RegionGap:
    """One thing the template needs that ``region`` lacks, and how to get past it."""

    what: str
    fix: str


def region_gaps(template: dict[str, Any], region: str) -> list[RegionGap]:
    """What ``template`` uses that does not exist in ``region``; empty when all is there."""
    from cfnlint.helpers import REGIONS  # cfn-lint loads its data lazily: only when deploying
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    if region not in REGIONS:
        # cfn-lint answers with us-east-1's list for a region it does not know: say nothing
        return []
    resources = template.get("Resources") or {}
    available = set(PROVIDER_SCHEMA_MANAGER.get_resource_types(region=region))
    gaps = []
    for resource_type in sorted({r.get("Type", "") for r in resources.values() if isinstance(r, dict)}):
        if not resource_type or resource_type in available or resource_type.startswith("Custom::"):
            continue
        fix = ANOTHER_REGION
        if resource_type == CONNECTION_TYPE:
            # "Connections are global resources ... You only have to create a connection once, and
            # then you can use it in any AWS Region" (Developer Tools console user guide,
            # welcome-connections-how-it-works-global)
            fix = ("set repository.connection_arn in pipelines/config.yaml to a connection created in "
                   f"another region (connections are global), or {ANOTHER_REGION}")
        gaps.append(RegionGap(f"resource type {resource_type} does not exist in {region}", fix))
    if region in CONNECTION_ACTION_UNAVAILABLE and _uses_action(resources, CONNECTION_ACTION):
        gaps.append(RegionGap(f"CodePipeline's {CONNECTION_ACTION} action (the sync pipeline's "
                              f"repository source) is not available in {region}", ANOTHER_REGION))
    return gaps


def _uses_action(resources: dict[str, Any], provider: str) -> bool:
    for resource in resources.values():
        if not isinstance(resource, dict) or resource.get("Type") != PIPELINE_TYPE:
            continue
        for stage in (resource.get("Properties") or {}).get("Stages") or []:
            for action in stage.get("Actions") or []:
                if (action.get("ActionTypeId") or {}).get("Provider") == provider:
                    return True
    return False


def check_region(body: str, region: str) -> None:
    """Raise ``UsageError`` naming the region, each missing type or action, and the fix."""
    try:
        template = json.loads(body)
    except ValueError:
        return  # not JSON: the template check of deploy reports it
    gaps = region_gaps(template, region)
    if not gaps:
        return
    lines = [f"the bootstrap stack cannot be deployed to region {region}:"]
    lines += [f"  - {gap.what}; fix: {gap.fix}" for gap in gaps]
    lines.append("    hint: the lists come from cfn-lint's resource schemas and CodePipeline's user guide; "
                 "if AWS has added them since, deploy with --no-region-check")
    raise UsageError("\n".join(lines))
