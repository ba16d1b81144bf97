"""The two buckets: the versioned source bucket the sync writes, and the artifact bucket."""

from __future__ import annotations

from awacs.aws import (
    ArnNotEquals,
    Bool,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
)
from awacs.s3 import Action as S3Action
from troposphere import GetAtt, Ref, Retain
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from generator import arns, logical_ids

RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
# Old versions of a stack's archive are kept this long. A pinned execution may wait for an
# approval up to 60 days (CodePipeline's maximum approval timeout), so 90 days never expires
# a version a queued execution still reads.
NONCURRENT_VERSION_DAYS = 90
# Pipeline artifacts are copies; an execution older than this is long finished.
ARTIFACT_EXPIRATION_DAYS = 90

# Every way to change or remove an object. The bucket policy denies them to all but the sync.
OBJECT_WRITE_ACTIONS = (
    "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
    "PutObject", "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging",
    "PutObjectVersionTagging", "RestoreObject",
)


def _bucket(logical_id: str, key_arn, *, versioned: bool, lifecycle: LifecycleConfiguration) -> Bucket:
    bucket = Bucket(
        logical_id,
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[
            ServerSideEncryptionRule(
                BucketKeyEnabled=True,
                ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                    SSEAlgorithm="aws:kms", KMSMasterKeyID=key_arn))]),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
            RestrictPublicBuckets=True),
        OwnershipControls=OwnershipControls(Rules=[
            OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=lifecycle,
        # The history of what was deployed outlives the bootstrap stack. RetainExceptOnCreate
        # "behaves like Retain ... except for the stack operation that initially created the
        # resource. If the stack operation that created the resource is rolled back, CloudFormation
        # deletes the resource" (CloudFormation user guide, aws-attribute-deletionpolicy): a failed
        # first deploy leaves nothing behind that blocks the retry (F7). UpdateReplacePolicy has no
        # such value.
        DeletionPolicy=RETAIN_EXCEPT_ON_CREATE, UpdateReplacePolicy=Retain,
    )
    if versioned:
        bucket.VersioningConfiguration = VersioningConfiguration(Status="Enabled")
    return bucket


def _tls_only(bucket: Bucket) -> Statement:
    return Statement(Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
                     Action=[S3Action("*")],
                     Resource=[GetAtt(bucket, "Arn"), arns.bucket_objects(bucket.title)],
                     Condition=Condition(Bool("aws:SecureTransport", False)))


def source_bucket(key_arn, sync_role_arn) -> tuple[Bucket, BucketPolicy]:
    """Versioned: each upload is a new version, and a pipeline runs on the version it is pinned to."""
    bucket = _bucket(logical_ids.SOURCE_BUCKET, key_arn, versioned=True, lifecycle=LifecycleConfiguration(
        Rules=[LifecycleRule(
            Id="ExpireOldVersions", Status="Enabled",
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                NoncurrentDays=NONCURRENT_VERSION_DAYS),
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]))
    policy = BucketPolicy(logical_ids.SOURCE_BUCKET_POLICY, Bucket=Ref(bucket), PolicyDocument=PolicyDocument(
        Version="2012-10-17",
        Statement=[
            _tls_only(bucket),
            # Threat: someone writes a template straight to S3 to skip review. Only the sync
            # role, which runs the reviewed main branch, may change what a pipeline reads.
            Statement(Sid="OnlyTheSyncWritesObjects", Effect=Deny, Principal=Principal("*"),
                      Action=[S3Action(a) for a in OBJECT_WRITE_ACTIONS],
                      Resource=[arns.bucket_objects(bucket.title)],
                      Condition=Condition(ArnNotEquals("aws:PrincipalArn", sync_role_arn))),
        ]))
    return bucket, policy


def artifact_bucket(key_arn) -> tuple[Bucket, BucketPolicy]:
    bucket = _bucket(logical_ids.ARTIFACT_BUCKET, key_arn, versioned=False, lifecycle=LifecycleConfiguration(
        Rules=[LifecycleRule(
            Id="ExpireArtifacts", Status="Enabled", ExpirationInDays=ARTIFACT_EXPIRATION_DAYS,
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]))
    policy = BucketPolicy(logical_ids.ARTIFACT_BUCKET_POLICY, Bucket=Ref(bucket),
                          PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[_tls_only(bucket)]))
    return bucket, policy
