"""``python -m cglive --cleanup LEDGER``: finish the cleanup of an interrupted live run.

Run from the project root with ``PYTHONPATH=tests/live``; the profile and region come from
CHANGEGATE_LIVE_PROFILE and CHANGEGATE_LIVE_REGION (or --profile/--region).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from cglive.ledger import Ledger, cleanup, shielded
from cglive.project import client_factory
from cglive.settings import ENV_ENDPOINT, ENV_PROFILE, ENV_REGION, LiveSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cglive", description=__doc__.splitlines()[0])
    parser.add_argument("--cleanup", metavar="LEDGER", type=Path, required=True,
                        help="the ledger-<project>.jsonl file of the run to clean up")
    parser.add_argument("--profile", default=os.environ.get(ENV_PROFILE))
    parser.add_argument("--region", default=os.environ.get(ENV_REGION))
    args = parser.parse_args(argv)
    if not args.region:
        parser.error(f"no region: pass --region or set {ENV_REGION}")
    if not args.cleanup.is_file():
        parser.error(f"{args.cleanup}: no such ledger file")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = LiveSettings(profile=args.profile or "", region=args.region, project="cleanup",
                            output=args.cleanup.parent, endpoint_url=os.environ.get(ENV_ENDPOINT) or None)
    ledger = Ledger(args.cleanup)
    with shielded():
        result = cleanup(ledger, client_factory(settings))
    for entry in result.deleted:
        print(f"deleted {entry.kind} {entry.name}")
    for entry, why in result.failed:
        print(f"NOT deleted {entry.kind} {entry.name}: {why}", file=sys.stderr)
    left = ledger.pending()
    print(f"{len(result.deleted)} deleted, {len(left)} left in {args.cleanup}")
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
