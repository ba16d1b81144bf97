"""The GitHub->S3 sync: ship only the stacks whose content changed, then start exactly their pipelines.

``run.run_sync`` is the entry point; its S3 and CodePipeline clients are parameters (decision:
clients are never module globals), so tests hand in moto-backed or stubbed ones.
"""
