"""The repository contract and the bootstrap template builder.

This package reads ``stacks/`` and ``pipelines/config.yaml``, checks them and builds the
"pipelines" bootstrap template. It never talks to AWS: nothing here imports boto3
(a test enforces it), so it is safe to run on any laptop or pull request.
"""
