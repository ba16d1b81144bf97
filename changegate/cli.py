"""The ``changegate`` command: parse arguments, call the library, map errors to exit codes.

Commands live one per module in ``changegate/commands`` and are imported only when run,
so ``changegate validate`` starts without importing boto3. Errors are caught once, here.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from changegate import __version__
from generator.errors import ChangegateError

# name -> "module:function"; each module holds one click command
COMMANDS = {
    "validate": "changegate.commands.validate:validate",
    "generate": "changegate.commands.generate:generate",
    "sync": "changegate.commands.sync:sync",
    "deploy": "changegate.commands.deploy:deploy",
    "status": "changegate.commands.status:status",
    "changes": "changegate.commands.changes:changes",
    "approve": "changegate.commands.approve:approve",
    "reject": "changegate.commands.approve:reject",
    "stop": "changegate.commands.stop:stop",
    "preview": "changegate.commands.preview:preview",
    "guardrails": "changegate.commands.guardrails:guardrails",
    "audit": "changegate.commands.audit:audit",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="changegate")
@click.option("--debug", is_flag=True, help="Show debug logs and tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Reviewed, approved CloudFormation changes: one change-set pipeline per stack."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(args=argv, prog_name="changegate", standalone_mode=False)
    except ChangegateError as exc:
        if debug:
            raise
        click.echo(f"changegate: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("changegate: aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("changegate: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
