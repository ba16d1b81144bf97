"""Where the AWS documentation and the provider schema disagree about replacement.

The documentation's "Update requires: Replacement / No interruption / Some interruptions" line
on each property is the authority; the schemas' ``createOnlyProperties`` are the default.
Each case below was found by comparing the two for the types the tests cover: the property
pages in the CloudFormation template reference (addresses below) and their source text in
github.com/awsdocs/aws-cloudformation-user-guide (doc_source/, last revision before the
repository was archived, 2023-12). Add a row when a new disagreement is found, with its address.
"""

from __future__ import annotations

from dataclasses import dataclass

DOCS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"


@dataclass(frozen=True)
class Override:
    resource_type: str
    path: tuple[str, ...]  # property path under Properties
    replacement: bool  # True: "Update requires: Replacement"; False: updated in place
    source: str  # the documentation address that says so

    @property
    def documented(self) -> str:
        return "Replacement" if self.replacement else "No interruption"


def _o(resource_type: str, prop: str, replacement: bool, page: str, anchor: str) -> Override:
    return Override(resource_type, (prop,), replacement, f"{DOCS}{page}.html#{anchor}")


OVERRIDES: tuple[Override, ...] = (
    # schema: not createOnly; docs: "Update requires: Replacement"
    _o("AWS::RDS::DBInstance", "Port", True, "aws-resource-rds-dbinstance",
       "cfn-rds-dbinstance-port"),
    _o("AWS::RDS::DBInstance", "PerformanceInsightsKMSKeyId", True, "aws-resource-rds-dbinstance",
       "cfn-rds-dbinstance-performanceinsightskmskeyid"),
    _o("AWS::DynamoDB::Table", "KeySchema", True, "aws-resource-dynamodb-table",
       "cfn-dynamodb-table-keyschema"),
    _o("AWS::S3::Bucket", "ObjectLockEnabled", True, "aws-resource-s3-bucket",
       "cfn-s3-bucket-objectlockenabled"),
    _o("AWS::ECS::Service", "LaunchType", True, "aws-resource-ecs-service",
       "cfn-ecs-service-launchtype"),
    _o("AWS::ECS::Service", "DeploymentController", True, "aws-resource-ecs-service",
       "cfn-ecs-service-deploymentcontroller"),
    _o("AWS::KMS::Key", "KeySpec", True, "aws-resource-kms-key", "cfn-kms-key-keyspec"),
    _o("AWS::KMS::Key", "KeyUsage", True, "aws-resource-kms-key", "cfn-kms-key-keyusage"),
    _o("AWS::KMS::Key", "MultiRegion", True, "aws-resource-kms-key", "cfn-kms-key-multiregion"),
    # schema: createOnly; docs: "Update requires: No interruption"
    _o("AWS::Lambda::Function", "PackageType", False, "aws-resource-lambda-function",
       "cfn-lambda-function-packagetype"),
)
