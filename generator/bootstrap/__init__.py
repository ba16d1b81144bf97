"""The bootstrap "pipelines" stack: troposphere builders for its template.

One CodePipeline per stack (``pipeline``), the sync job, buckets, KMS key, notifications, the steps
function and the least-privilege roles, assembled by ``template.build_template`` from a repository
the contract (``generator.contract``) has read and checked.
"""
