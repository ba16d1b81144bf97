"""The two buckets: the versioned source bucket the sync writes, and the artifact bucket."""

from __future__ import annotations

from awacs.aws import (
    ArnEquals,
    ArnNotEquals,
    Bool,
    Condition,
    Deny,
    Null,
    PolicyDocument,
    Principal,
    Statement,
    StringNotEquals,
)
from awacs.s3 import Action as S3Action
from troposphere import GetAtt, Join, Ref, Retain
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

from generator import logical_ids, naming

RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
# Old versions of a stack's archive are kept this long. A pinned execution may wait for an
# approval up to 60 days (CodePipeline's maximum approval timeout), so 90 days never expires
# a version a queued execution still reads.
NONCURRENT_VERSION_DAYS = 90
# Pipeline artifacts are copies; an execution older than this is long finished.
ARTIFACT_EXPIRATION_DAYS = 90

# Every way to change or remove an object, replication's writes included (a replication rule on
# another bucket writes here as its replication role). Each bucket's policy denies them to every
# principal but the one changegate role that writes it: the sync (source) or the pipeline role
# (artifacts), whether or not anyone attached the guardrail policy.
OBJECT_WRITE_ACTIONS = (
    "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
    "ObjectOwnerOverrideToBucketOwner", "PutObject", "PutObjectAcl", "PutObjectLegalHold",
    "PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging",
    "ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
)
# Condition keys S3 sets from the upload's encryption headers ("s3:x-amz-server-side-encryption",
# "s3:x-amz-server-side-encryption-aws-kms-key-id": Amazon S3 service authorization reference).
# An upload without the headers gets the bucket's default encryption, which is the key, so a Deny
# applies only when the header is there ("Null": false) and names something else. Not
# StringNotEqualsIfExists: "If the key is not present, evaluate the condition element as true"
# (IAM user guide, condition operators), which would refuse every upload without the header.
SSE_KEY = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY_ID = "s3:x-amz-server-side-encryption-aws-kms-key-id"


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


def _objects(bucket: Bucket) -> Join:
    # Fn::Join, not Fn::Sub, and the string "false" below: the AWS Control Tower proactive control
    # CT.S3.PR.8 recognises a TLS-only statement only in that form, and organisations that run those
    # controls as CloudFormation hooks would otherwise be refused the bootstrap stack.
    return Join("", [GetAtt(bucket, "Arn"), "/*"])


def _tls_only(bucket: Bucket) -> Statement:
    return Statement(Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
                     Action=[S3Action("*")], Resource=[GetAtt(bucket, "Arn"), _objects(bucket)],
                     Condition=Condition(Bool("aws:SecureTransport", "false")))


def _only_writer(bucket: Bucket, sid: str, writer_arn, key_arn=None) -> list[Statement]:
    """Object writes only by ``writer_arn``, only SSE-KMS, and (``key_arn``) only with that key.

    The key is pinned on the source bucket, whose only writer (the sync) sends no encryption
    headers, so its objects always get the default key. On the artifact bucket CodePipeline sends
    the headers itself, and nothing documents whether it names the key by ARN or by id: pinning
    the ARN there could refuse every artifact, so that bucket pins the writer and SSE-KMS only.
    """
    statements = [
        Statement(Sid=sid, Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action(a) for a in OBJECT_WRITE_ACTIONS], Resource=[_objects(bucket)],
                  Condition=Condition(ArnNotEquals("aws:PrincipalArn", writer_arn))),
        # Two statements: the conditions of one statement must all hold (AND), and either header
        # naming something else is reason enough to refuse.
        Statement(Sid="OnlyKmsEncryption", Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action("PutObject")], Resource=[_objects(bucket)],
                  Condition=Condition([StringNotEquals(SSE_KEY, "aws:kms"), Null(SSE_KEY, "false")])),
    ]
    if key_arn is not None:
        statements.append(Statement(
            Sid="OnlyChangegatesKey", Effect=Deny, Principal=Principal("*"),
            Action=[S3Action("PutObject")], Resource=[_objects(bucket)],
            Condition=Condition([StringNotEquals(SSE_KMS_KEY_ID, key_arn), Null(SSE_KMS_KEY_ID, "false")])))
    return statements


def _audit_records(bucket: Bucket, recorder_role_arn) -> list[Statement]:
    """``audit/``: the recorder's, written once and kept (issue 11 item 7, review/record.py).

    With :func:`_only_writer` naming the sync and the recorder, these make each keep to its own part:
    only the recorder writes under ``audit/`` (the sync, whose role may write any object it lists
    under ``stacks/``, can never forge a record), the recorder writes nothing else, and under
    ``audit/`` nobody deletes, re-tags or re-permissions a record: only PutObject, which the recorder
    sends with If-None-Match, so a record is never overwritten either. The bucket is versioned and
    records are never noncurrent, so the lifecycle rule that expires old archive versions spares them.
    """
    records = Join("", [GetAtt(bucket, "Arn"), f"/{naming.AUDIT_PREFIX}*"])
    return [
        Statement(Sid="OnlyTheRecorderWritesAuditRecords", Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action("PutObject")], Resource=[records],
                  Condition=Condition(ArnNotEquals("aws:PrincipalArn", recorder_role_arn))),
        Statement(Sid="TheRecorderWritesOnlyAuditRecords", Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action(a) for a in OBJECT_WRITE_ACTIONS], NotResource=[records],
                  Condition=Condition(ArnEquals("aws:PrincipalArn", recorder_role_arn))),
        Statement(Sid="AuditRecordsAreKept", Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action(a) for a in OBJECT_WRITE_ACTIONS if a != "PutObject"], Resource=[records]),
        # Written once, never overwritten, not even by the recorder: "You can use the condition keys
        # s3:if-match or s3:if-none-match ... to enforce conditional writes for object uploads"
        # (S3 user guide, conditional-writes-enforce). A PutObject without If-None-Match is refused
        # (so are multipart uploads and copies, which the recorder never makes).
        Statement(Sid="AuditRecordsAreWrittenOnce", Effect=Deny, Principal=Principal("*"),
                  Action=[S3Action("PutObject")], Resource=[records],
                  Condition=Condition(Null("s3:if-none-match", "true"))),
    ]


def source_bucket(key_arn, sync_role_arn, recorder_role_arn) -> tuple[Bucket, BucketPolicy]:
    """Versioned: each upload is a new version, and a pipeline runs on the version it is pinned to.

    Two writers, each in its own part: the sync (``stacks/``: archives, packaged content, its state)
    and the recorder (``audit/``: one record per finished execution).
    """
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
            *_only_writer(bucket, "OnlyTheSyncAndTheRecorderWriteObjects", [sync_role_arn, recorder_role_arn],
                          key_arn),
            # ... and the recorder its audit records, nothing else; nobody else writes those.
            *_audit_records(bucket, recorder_role_arn),
        ]))
    return bucket, policy


def artifact_bucket(key_arn) -> tuple[Bucket, BucketPolicy]:
    """Pipeline artifacts: the pipeline role writes them (the S3 and GitHub source actions' output).

    Threat: an artifact swapped between CreateChangeSet and the stack-policy steps, which read it.
    """
    bucket = _bucket(logical_ids.ARTIFACT_BUCKET, key_arn, versioned=False, lifecycle=LifecycleConfiguration(
        Rules=[LifecycleRule(
            Id="ExpireArtifacts", Status="Enabled", ExpirationInDays=ARTIFACT_EXPIRATION_DAYS,
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]))
    # The two pipelines' roles: the stack pipelines' S3 source and the sync pipeline's GitHub source.
    writers = [GetAtt(logical_ids.PIPELINE_ROLE, "Arn"), GetAtt(logical_ids.SYNC_PIPELINE_ROLE, "Arn")]
    statements = [_tls_only(bucket), *_only_writer(bucket, "OnlyThePipelinesWriteArtifacts", writers)]
    policy = BucketPolicy(logical_ids.ARTIFACT_BUCKET_POLICY, Bucket=Ref(bucket),
                          PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))
    return bucket, policy
