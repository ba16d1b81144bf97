"""The repository contract and the bootstrap template builder, one subpackage each.

- ``generator.contract`` reads ``stacks/`` and ``pipelines/config.yaml`` and checks them;
- ``generator.bootstrap`` builds the "pipelines" bootstrap template from what the contract read;
- ``naming``, ``logical_ids``, ``errors`` and ``zipfiles`` here are what both (and the sync, the
  preview and the operators' commands) share: names, logical ids, errors, deterministic zips.

It never talks to AWS: nothing here imports boto3 (a test enforces it), so it is safe to run on any
laptop or pull request.
"""
