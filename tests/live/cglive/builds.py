"""CodeBuild runs of the deployed sync project, on the harness's own source zip (Q4, Q5, the sync).

The generated sync project reads its source from CodePipeline; a build started here overrides
that with an S3 zip (the throwaway repository with its .git, plus changegate's own source, which
the buildspec installs with ``pip install .``). The project, its role, its image and its
buildspec stay as generated: that is what is being tested.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cglive import facts
from cglive.ledger import Ledger

Sleep = Callable[[float], None]
PACKAGE_PATHS = ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "generator", "sync",
                 "changegate", "review", "preview", "buildspecs")
FACTS_SCRIPT = "cglive_facts.py"
FACTS_BUILDSPEC = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                   f"      - python3 {FACTS_SCRIPT}\n")
BUILD_DONE = frozenset({"SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "STOPPED"})
SKIP_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})


def source_zip(repository: Path, package_root: Path) -> bytes:
    """The repository (.git included) with changegate's source beside it, and the facts script."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(repository.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(repository).as_posix())
        for rel in PACKAGE_PATHS:
            top = package_root / rel
            if top.is_file():
                files = [top]
            else:
                files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else []
            for path in files:
                if SKIP_PARTS.isdisjoint(path.relative_to(package_root).parts) and path.suffix != ".pyc":
                    archive.write(path, path.relative_to(package_root).as_posix())
        archive.writestr(FACTS_SCRIPT, Path(facts.__file__).read_text("utf-8"))
    return buffer.getvalue()


def probe_bucket(s3: Any, ledger: Ledger, name: str, region: str, reader_role_arn: str) -> str:
    """A private bucket the sync role may read (same account: the bucket policy alone grants it)."""
    ledger.will_create("bucket", name)
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    arn = f"arn:{_partition(region)}:s3:::{name}"
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "SyncRoleReadsTheProbeSource", "Effect": "Allow", "Principal": {"AWS": reader_role_arn},
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketAcl", "s3:GetBucketLocation"],
        "Resource": [arn, f"{arn}/*"]}]}))
    return name


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def start_build(codebuild: Any, project: str, bucket: str, key: str, *, buildspec: str | None = None) -> str:
    """Start the project on the S3 zip. `changegate sync` then takes its commit from git HEAD:
    CODEBUILD_RESOLVED_SOURCE_VERSION (its --commit default) is the commit for Git sources, but
    "For Amazon S3, this does not apply" (CodeBuild API reference, Build.resolvedSourceVersion)."""
    kwargs: dict[str, Any] = {"projectName": project, "sourceTypeOverride": "S3",
                              "sourceLocationOverride": f"{bucket}/{key}",
                              "artifactsOverride": {"type": "NO_ARTIFACTS"}}
    if buildspec is not None:
        kwargs["buildspecOverride"] = buildspec
    return codebuild.start_build(**kwargs)["build"]["id"]


def wait_build(codebuild: Any, build_id: str, *, timeout: float = 1200, interval: float = 10,
               sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    deadline = clock() + timeout
    while True:
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildStatus"] in BUILD_DONE:
            return build
        if clock() >= deadline:
            raise TimeoutError(f"build {build_id} still {build['buildStatus']} after {timeout:.0f}s")
        sleep(interval)


def log_lines(logs: Any, build: dict[str, Any]) -> list[str]:
    where = build.get("logs") or {}
    group, stream = where.get("groupName"), where.get("streamName")
    if not group or not stream:
        return []
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:
        page = logs.get_log_events(**kwargs)
        lines += [e["message"].rstrip("\n") for e in page.get("events", [])]
        token = page.get("nextForwardToken")
        if not page.get("events") or token == kwargs.get("nextToken"):
            return lines
        kwargs["nextToken"] = token


def parse_facts(lines: list[str]) -> dict[str, Any] | None:
    for line in lines:
        at = line.find(facts.MARKER)
        if at >= 0 and "print(" not in line:
            return json.loads(line[at + len(facts.MARKER):])
    return None


def failed_phases(build: dict[str, Any]) -> list[str]:
    return [f"{p['phaseType']}: {p.get('phaseStatus')} "
            + "; ".join(c.get("message", "") for c in p.get("contexts", []) if c.get("message"))
            for p in build.get("phases", []) if p.get("phaseStatus") not in (None, "SUCCEEDED")]
