"""The repository contract: what ``stacks/`` and ``pipelines/config.yaml`` may hold, read and checked.

Discovery of the stacks, the config and its schema, each stack's template and TemplateConfiguration,
and every check ``changegate validate`` runs (lint, capabilities, transforms, content sources,
custom resources, boundaries, protected names, collisions). The sync and the preview use it too;
nothing here builds CloudFormation resources (that is ``generator.bootstrap``).
"""
