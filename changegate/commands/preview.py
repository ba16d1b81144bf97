"""``changegate preview``: what merging a change would do, offline (no AWS credentials)."""

from __future__ import annotations

from pathlib import Path

import click

from changegate.options import root_option
from preview.engine import run_preview
from preview.render import render


@click.command()
@root_option
@click.option("--base", "base_ref", required=True, metavar="REF",
              help="The commit the change starts from (the pull request's base).")
@click.option("--head", "head_ref", default=None, metavar="REF",
              help="The commit to preview (default: the working tree).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True, help="Output format.")
@click.option("--region", default="us-east-1", show_default=True,
              help="Region whose resource schemas decide replacement.")
@click.option("--risk-exit/--no-risk-exit", default=True, show_default=True,
              help="Exit 3 when risky changes are present (--no-risk-exit: 0, for hooks "
                   "that should report risks without failing).")
def preview(root: Path, base_ref: str, head_ref: str | None, output_format: str,
            region: str, risk_exit: bool) -> int:
    """Predict, per changed stack, what the change sets will do.

    Resources added, removed and modified (with replacement), parameter, tag and setting
    changes, data at risk, permission broadening and cross-stack impact. Exit 0 when nothing
    is risky, 1 on errors, 3 when risky changes are present.
    """
    result = run_preview(root, base_ref, head_ref, region=region)
    click.echo(render(result, output_format))
    if result.exit_code == 3 and not risk_exit:
        return 0
    return result.exit_code
