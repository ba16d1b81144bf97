#!/usr/bin/env python3
"""Benchmark changegate's local commands on synthetic repositories of N stacks.

The sync is measured against S3 with ../shared/bench (see the README's performance section);
this script measures what runs without AWS: ``validate`` (structure and parameters only, and
with cfn-lint in one process versus one per CPU) and ``generate``. Each repository holds N
copies of the four example stacks (network, database, service, alarms), so templates have the
size and shape of real ones. Each command runs as a whole process, ``--repeats`` times; the
table gives the median and the cost per stack. Quote ratios, not seconds: shared machines are
noisy.

    python benchmarks/bench_commands.py                      # N = 100, 300, 1000
    python benchmarks/bench_commands.py --n 100 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("network", "database", "service", "alarms")


def make_repository(target: Path, n: int) -> None:
    """N stacks: copies of the examples named <example>-<i>, with a config without overrides."""
    (target / "pipelines").mkdir(parents=True)
    config = (ROOT / "pipelines" / "config.yaml").read_text("utf-8")
    # per-stack overrides name the example folders, which do not exist here; the service copies
    # create IAM roles, so every stack gets the capability their override gave the example
    config = config.split("\nstacks:")[0].replace("capabilities: []", "capabilities: [CAPABILITY_IAM]") + "\n"
    (target / "pipelines" / "config.yaml").write_text(config, "utf-8")
    for i in range(n):
        example = EXAMPLES[i % len(EXAMPLES)]
        shutil.copytree(ROOT / "stacks" / example, target / "stacks" / f"{example}-{i:04d}")


def run(command: list[str], cwd: Path, repeats: int) -> tuple[float, int, str]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result.returncode, (result.stdout + result.stderr).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lint-n", type=int, default=40,
                        help="stacks for the cfn-lint rows (cfn-lint costs about a second a template)")
    args = parser.parse_args()
    changegate = shutil.which("changegate") or sys.exit("changegate is not installed")
    rows = []
    with tempfile.TemporaryDirectory(prefix="changegate-bench-") as scratch:
        for n in args.n:
            repo = Path(scratch) / f"n{n}"
            make_repository(repo, n)
            seconds, rc, _ = run([changegate, "validate", "--no-lint"], repo, args.repeats)
            rows.append(("validate --no-lint", n, seconds, rc, ""))
            seconds, rc, out = run([changegate, "generate", "--output", str(repo / "out.json")],
                                   repo, args.repeats)
            note = _template_note(repo / "out.json") if rc == 0 else out.splitlines()[0][:90]
            rows.append(("generate", n, seconds, rc, note))
        repo = Path(scratch) / f"lint{args.lint_n}"
        make_repository(repo, args.lint_n)
        serial, rc1, _ = run([changegate, "validate", "--jobs", "1"], repo, args.repeats)
        parallel, rc2, _ = run([changegate, "validate"], repo, args.repeats)
        rows.append(("validate (cfn-lint, 1 process)", args.lint_n, serial, rc1, ""))
        rows.append(("validate (cfn-lint, 1 per CPU)", args.lint_n, parallel, rc2,
                     f"{serial / parallel:.2f}x faster than 1 process"))
    print("| command | stacks | median s | ms per stack | exit | note |")
    print("|---|---|---|---|---|---|")
    for command, n, seconds, rc, note in rows:
        print(f"| `{command}` | {n} | {seconds:.2f} | {seconds / n * 1000:.1f} | {rc} | {note} |")
    return 0


def _template_note(path: Path) -> str:
    data = path.read_bytes()
    return f"{len(json.loads(data)['Resources'])} resources, {len(data):,} bytes"


if __name__ == "__main__":
    sys.exit(main())
