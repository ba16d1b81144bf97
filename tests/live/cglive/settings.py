"""The environment that turns the live suite on, and the throwaway project's name."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.naming import PROJECT_RE

ENV_PROFILE = "CHANGEGATE_LIVE_PROFILE"
ENV_REGION = "CHANGEGATE_LIVE_REGION"
# Optional: where the ledger and the report go (default: ./live-report), and a fixed project name.
ENV_OUTPUT = "CHANGEGATE_LIVE_OUTPUT"
ENV_PROJECT = "CHANGEGATE_LIVE_PROJECT"
# Only for the harness's own tests: point every client at a local emulator.
ENV_ENDPOINT = "CHANGEGATE_LIVE_ENDPOINT_URL"
PROJECT_STEM = "cglive"


@dataclass(frozen=True)
class LiveSettings:
    profile: str
    region: str
    project: str
    output: Path
    endpoint_url: str | None = None


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """True only when both the sandbox profile and region are named: the suite costs money."""
    return bool(environ.get(ENV_PROFILE, "").strip() and environ.get(ENV_REGION, "").strip())


def new_project_name() -> str:
    """``cglive`` and 8 random hex digits: no hyphen (naming.PROJECT_RE), unique per run."""
    return f"{PROJECT_STEM}{secrets.token_hex(4)}"


def from_environment(environ: Mapping[str, str] = os.environ) -> LiveSettings:
    if not enabled(environ):
        raise ValueError(f"set {ENV_PROFILE} and {ENV_REGION} to run the live suite")
    project = environ.get(ENV_PROJECT) or new_project_name()
    if not PROJECT_RE.match(project):
        raise ValueError(f"{ENV_PROJECT}={project!r}: a project name is 2-20 lowercase letters and digits, "
                         "starting with a letter, no hyphen")
    return LiveSettings(profile=environ[ENV_PROFILE].strip(), region=environ[ENV_REGION].strip(),
                        project=project, output=Path(environ.get(ENV_OUTPUT) or "live-report"),
                        endpoint_url=environ.get(ENV_ENDPOINT) or None)
