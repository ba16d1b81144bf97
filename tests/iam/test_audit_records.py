"""The audit records (issue 11 item 7): only the recorder writes them, only there, once; readers read
only them.

Evaluated on the generated template's policies with tests/iam/policy_eval.py: the recorder role's own
policy, the source bucket's policy, the key policy and the approvers policy. Each guarantee is shown
to rest on the statement that makes it (the verdict flips when that statement is taken out).
"""

from __future__ import annotations

from policy_eval import REGION, Decision
from roles_setup import APPROVER, Setup, allowed, intruder_world, verdict

from generator import naming

KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
SSE_HEADER = "s3:x-amz-server-side-encryption"
VIA_S3 = f"s3.{REGION}.amazonaws.com"
CONTEXT = "kms:EncryptionContext:aws:s3:arn"


def _record(s: Setup) -> str:
    """An audit record's object ARN (review/record.py record_key)."""
    return s.source_object(f"{naming.audit_records_prefix('acme-network')}20261130T090509Z-"
                           "00000003-1111-4222-8333-444455556666.json")


def _archive(s: Setup) -> str:
    return s.source_object(naming.source_object_key(s.folder))


def _headers(s: Setup) -> dict[str, str]:
    """What review/record.py write_record sends: SSE-KMS with the key's ARN (no bucket key), and
    If-None-Match: * (the condition key s3:if-none-match)."""
    return {SSE_HEADER: "aws:kms", KEY_HEADER: s.key, "s3:if-none-match": "*"}


def test_the_recorder_writes_audit_records_and_nothing_else(s: Setup) -> None:
    recorder = s.principal("recorder")
    assert allowed(s.world, recorder, "s3:PutObject", _record(s), **_headers(s))
    for target in (_archive(s), s.source_object("stacks/.changegate/state.json"),
                   s.artifact_object("acme-network/SourceArti/abc123")):
        assert not allowed(s.world, recorder, "s3:PutObject", target, **_headers(s)), target
    # written once: a PutObject that could overwrite (no If-None-Match) is refused, by the bucket policy
    without = {k: v for k, v in _headers(s).items() if k != "s3:if-none-match"}
    assert verdict(s.world, recorder, "s3:PutObject", _record(s), without) is Decision.EXPLICIT_DENY
    opened = s.world.without_resource_statement(_record(s), "Deny", "s3:PutObject")
    assert allowed(opened, recorder, "s3:PutObject", _record(s), **without)
    # no delete, no tagging, no reading: a record, once written, stays as it is
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:GetObject"):
        assert not allowed(s.world, recorder, action, _record(s)), action
    # even with a wider policy of its own, the bucket keeps it to audit/: the bucket policy's Deny
    widened = s.world.widened(recorder, "s3:PutObject")
    assert verdict(widened, recorder, "s3:PutObject", _archive(s), _headers(s)) is Decision.EXPLICIT_DENY
    opened = widened.without_resource_statement(_archive(s), "Deny", "s3:PutObject")
    assert allowed(opened.widened(recorder, "s3:PutObject"), recorder, "s3:PutObject", _archive(s))


def test_nobody_else_writes_or_deletes_a_record(s: Setup) -> None:
    world, intruder = intruder_world(s)
    sync, steps = s.principal("sync"), s.principal("change-function")
    # the sync may write any object it lists under stacks/: the bucket policy keeps it out of audit/,
    # whatever its own policy says, so it cannot forge a record
    widened = world.widened(sync, "s3:PutObject")
    assert verdict(widened, sync, "s3:PutObject", _record(s), _headers(s)) is Decision.EXPLICIT_DENY
    assert allowed(widened, sync, "s3:PutObject", _archive(s))  # its own archives, as before
    opened = widened.without_resource_statement(_record(s), "Deny", "s3:PutObject")
    assert allowed(opened, sync, "s3:PutObject", _record(s), **_headers(s))
    # the steps function writes nothing at all; a PowerUser neither
    for principal in (steps, intruder):
        for target in (_record(s), _archive(s)):
            assert not allowed(world, principal, "s3:PutObject", target, **_headers(s)), (principal, target)
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention"):
        assert verdict(world, intruder, action, _record(s)) is Decision.EXPLICIT_DENY, action
        assert verdict(world, s.principal("recorder"), action, _record(s)) is Decision.EXPLICIT_DENY, action


def test_the_recorder_encrypts_records_via_s3_only(s: Setup) -> None:
    recorder = s.principal("recorder")
    record_context = {"kms:ViaService": VIA_S3, CONTEXT: _record(s)}
    assert allowed(s.world, recorder, "kms:GenerateDataKey", s.key, **record_context)
    # not directly, not for an archive (whose context is the bucket: the S3 Bucket Key), no decrypt
    assert not allowed(s.world, recorder, "kms:GenerateDataKey", s.key, **{CONTEXT: _record(s)})
    assert not allowed(s.world, recorder, "kms:GenerateDataKey", s.key,
                       **{"kms:ViaService": VIA_S3, CONTEXT: s.source_bucket})
    assert not allowed(s.world, recorder, "kms:Decrypt", s.key, **record_context)
    # the key policy is what grants it (IAM alone cannot: KMS key policies)
    opened = s.world.without_resource_statement(s.key, "Allow", "kms:GenerateDataKey")
    assert not allowed(opened, recorder, "kms:GenerateDataKey", s.key, **record_context)


def test_the_recorder_reads_stack_pipeline_executions_never_the_syncs(s: Setup) -> None:
    recorder = s.principal("recorder")
    network = s.pipeline_arn(f"{s.project}-network")
    for action in ("codepipeline:GetPipelineExecution", "codepipeline:ListPipelineExecutions",
                   "codepipeline:ListActionExecutions"):
        assert allowed(s.world, recorder, action, network), action
        assert not allowed(s.world, recorder, action, s.pipeline_arn(naming.sync_pipeline_name(s.project)))
    for action in ("codepipeline:PutApprovalResult", "codepipeline:StopPipelineExecution",
                   "codepipeline:StartPipelineExecution", "codepipeline:UpdatePipeline"):
        assert not allowed(s.world, recorder, action, network), action


def test_approvers_read_audit_records_but_not_the_archives_bytes(s: Setup) -> None:
    approver = APPROVER
    assert allowed(s.world, approver, "s3:ListBucket", s.source_bucket, s3__prefix="audit/acme-network/")
    assert not allowed(s.world, approver, "s3:ListBucket", s.source_bucket, s3__prefix="stacks/")
    assert allowed(s.world, approver, "s3:GetObject", _record(s))
    assert allowed(s.world, approver, "kms:Decrypt", s.key, **{"kms:ViaService": VIA_S3, CONTEXT: _record(s)})
    # an archive is encrypted under the bucket's S3 Bucket Key: its context is the bucket, not refused
    # by S3 permissions (approvers HEAD archives) but by KMS
    assert not allowed(s.world, approver, "kms:Decrypt", s.key,
                       **{"kms:ViaService": VIA_S3, CONTEXT: s.source_bucket})
    assert not allowed(s.world, approver, "kms:Decrypt", s.key, **{CONTEXT: _record(s)})  # only via S3
    assert not allowed(s.world, approver, "s3:PutObject", _record(s), **_headers(s))
    # the key policy's statement is what lets IAM grant it
    opened = s.world.without_resource_statement(s.key, "Allow", "kms:Decrypt")
    assert not allowed(opened, approver, "kms:Decrypt", s.key,
                       **{"kms:ViaService": VIA_S3, CONTEXT: _record(s)})
