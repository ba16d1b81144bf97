"""changegate's own cfn-lint rules: what cfn-lint does not check in CodePipeline pipelines.

cfn-lint validates a pipeline's structure but not its actions' configuration: a wrong
``ActionMode``, a missing ``StackName``, an unknown provider or a 120-character pipeline name
pass it. These rules catch them. Each rule is one ``E91xx`` module in this folder, so cfn-lint
loads them with ``cfn-lint --append-rules <this folder>`` (see :func:`rules_dir`); the shared
helpers live in ``_pipelines.py``, which cfn-lint skips (leading underscore).
"""

from __future__ import annotations

from pathlib import Path

RULE_ID_PREFIX = "E91"


def rules_dir() -> Path:
    """The folder to pass to ``cfn-lint --append-rules``."""
    return Path(__file__).resolve().parent


def lint(template_text: str, *, only_custom: bool = False, regions: tuple[str, ...] = ("us-east-1",)) -> list:
    """cfn-lint ``template_text`` with these rules added; ``only_custom`` keeps just their findings."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(template_text, config=ManualArgs(append_rules=[str(rules_dir())],
                                                        regions=list(regions)))
    if only_custom:
        matches = [m for m in matches if m.rule.id.startswith(RULE_ID_PREFIX)]
    return matches
