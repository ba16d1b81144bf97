"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click

root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="Repository root (holds stacks/ and pipelines/).")

format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="Output format.")
