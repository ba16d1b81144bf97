"""``changegate generate``: write the bootstrap template, or check that the committed one is current."""

from __future__ import annotations

from pathlib import Path

import click

from changegate.options import root_option
from generator.bootstrap.render import TEMPLATE_RELPATH, RenderResult
from generator.bootstrap.render import generate as render
from generator.errors import GenerateError


@click.command()
@root_option
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Where to write the template (default: <root>/{TEMPLATE_RELPATH}).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when the file is missing or stale (for CI).")
def generate(root: Path, output: Path | None, check: bool) -> int:
    """Generate the bootstrap template (one pipeline per stack, the sync, IAM) from pipelines/config.yaml
    and stacks/. The same input always gives the same bytes.
    """
    result = render(root, output, check=check)
    if check:
        if result.outdated:
            verb = "is" if len(result.outdated) == 1 else "are"
            raise GenerateError(f"{', '.join(map(str, result.outdated))} {verb} stale, missing or left "
                                "over: run `changegate generate` and commit the result")
        click.echo(f"{result.path} is up to date ({result.size} bytes{_shards_text(result)})")
        return 0
    verdict = "wrote" if result.changed else "unchanged:"
    click.echo(f"{verdict} {result.path} ({result.size} bytes{_shards_text(result)})")
    for leftover in result.stale:
        click.echo(f"removed {leftover} (no longer a shard)")
    return 0


def _shards_text(result: RenderResult) -> str:
    """"; sharded: 6 nested-stack templates in pipelines/shards (712345 bytes)" when sharded."""
    if not result.shards:
        return ""
    size = sum(f.size for f in result.shards)
    return (f"; sharded: {len(result.shards)} nested-stack templates in "
            f"{result.shards[0].path.parent} ({size} bytes)")
