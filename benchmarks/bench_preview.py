#!/usr/bin/env python3
"""Time ``changegate preview`` on a 1,000-stack repository with ten changed stacks (issue 12).

Builds the repository in a temporary directory with Git: N copies of the four example
stacks (network, database, service, alarms), one commit, then a second commit that changes
ten of them in different ways (a replaced database, a new container image, a wider security
group, an alarm threshold, a removed subnet export imported by another stack, ...). Then it
runs the whole command as a process, ``changegate preview --base HEAD~1 --head HEAD --format
json``, ``--repeats`` times, and prints the median. The target is at most 5 s at N = 1,000.

    python benchmarks/bench_preview.py               # N = 1000, 3 repeats
    python benchmarks/bench_preview.py --n 100 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("network", "database", "service", "alarms")
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=GIT_ENV)


def make_repository(target: Path, n: int) -> None:
    (target / "pipelines").mkdir(parents=True)
    config = (ROOT / "pipelines" / "config.yaml").read_text("utf-8").split("\nstacks:")[0] + "\n"
    # the service copies create IAM roles (the example grants this per stack)
    config = config.replace("capabilities: []", "capabilities: [CAPABILITY_IAM]")
    (target / "pipelines" / "config.yaml").write_text(config, "utf-8")
    for i in range(n):
        example = EXAMPLES[i % len(EXAMPLES)]
        shutil.copytree(ROOT / "stacks" / example, target / "stacks" / f"{example}-{i:04d}")
    # one database stack reads network-0000's exports, so removing one of them has an importer
    config_path = target / "stacks" / "database-0001" / "config.yaml"
    config_path.write_text(config_path.read_text("utf-8").replace(
        "Parameters:\n", "Parameters:\n  NetworkStackName: acme-network-0000\n"), "utf-8")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "base")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def change_ten_stacks(root: Path) -> None:
    s = root / "stacks"
    edit(s / "database-0005/template.yaml", "      DBName: !Ref DatabaseName\n",
         "      DBName: !Ref DatabaseName\n      Port: 5433\n")  # replaced
    edit(s / "database-0009/config.yaml", "InstanceClass: db.t4g.small", "InstanceClass: db.t4g.medium")
    edit(s / "service-0002/config.json", "web:2026.11.3", "web:2026.12.1")  # new task definition
    edit(s / "service-0006/template.yaml", "          FromPort: 80\n          ToPort: 80\n",
         "          FromPort: 0\n          ToPort: 65535\n")  # wider ingress
    edit(s / "service-0010/config.json", '"DesiredCount": 3', '"DesiredCount": 6')
    edit(s / "alarms-0003/config.yaml", "DatabaseCpuThreshold: 75", "DatabaseCpuThreshold: 60")
    edit(s / "alarms-0007/template.yaml", "      RetentionInDays: 30", "      RetentionInDays: 90") \
        if "RetentionInDays" in (s / "alarms-0007/template.yaml").read_text() else \
        edit(s / "alarms-0007/template.yaml", "      EvaluationPeriods: 3\n",
             "      EvaluationPeriods: 5\n")
    edit(s / "network-0004/config.json", '"VpcCidr": "10.20.0.0/16"', '"VpcCidr": "10.30.0.0/16"')
    edit(s / "network-0008/template.yaml", "      MapPublicIpOnLaunch: false\n",
         "      MapPublicIpOnLaunch: true\n")
    # network-0000 stops exporting its private subnets, which database-0001 imports: an error
    edit(s / "network-0000/template.yaml",
         "  PrivateSubnetIds:\n    Value: !Join [\",\", [!Ref PrivateSubnetA, !Ref PrivateSubnetB]]\n"
         "    Export:\n      Name: !Sub ${AWS::StackName}-PrivateSubnetIds\n", "")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ten changes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as scratch:
        root = Path(scratch) / "repo"
        make_repository(root, args.n)
        change_ten_stacks(root)
        # the same as the installed `changegate` script, without depending on how it was installed
        command = [sys.executable, "-m", "changegate.cli", "preview", "--base", "HEAD~1",
                   "--head", "HEAD", "--format", "json"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        times, result = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - start)
        if not result.stdout.strip():
            print(result.stderr)
            return 1
        report = json.loads(result.stdout)
        print(f"N={args.n} stacks, {len(report['stacks'])} changed: median "
              f"{statistics.median(times):.2f} s over {args.repeats} runs "
              f"(min {min(times):.2f} s, max {max(times):.2f} s); exit {result.returncode}")
        print(report["summary"])
        for error in report["errors"]:
            print(f"  error: {error[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
