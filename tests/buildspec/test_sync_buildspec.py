"""``buildspecs/sync.yml`` run as CodeBuild would, under the pip configuration of the Lambda image.

The image (``aws/codebuild/amazonlinux-x86_64-lambda-standard:python3.12``) ships ``/etc/pip.conf``
with ``[global] target = /tmp/opt/python/site-packages`` and sets ``PYTHONPATH`` to that folder
(its Dockerfile: ``COPY tools/runtime_configs/pip/pip.conf /etc/pip.conf`` and
``ENV PYTHONPATH="$LAMBDA_USER_HOME/python/site-packages"``; notes/aws-fidelity.md, F1). A venv's
pip reads that file too, and ``changegate`` then never reaches the venv's ``bin/``.

How the image is simulated without root: pip reads its *global* configuration from
``$XDG_CONFIG_DIRS/pip/pip.conf`` and then ``/etc/pip.conf`` ("In a "pip" subdirectory of any of
the paths set in the environment variable XDG_CONFIG_DIRS ... This will be followed by loading
/etc/pip.conf", pip.pypa.io/en/stable/topics/configuration/). So the test's ``target`` sits in a
file of the same kind and precedence as the image's ``/etc/pip.conf``. ``PIP_CONFIG_FILE`` would
not do: it is the very variable a fix may set, and the buildspec's value would replace the test's
file instead of overriding a global one, so a wrong fix could pass.

Offline and quick: the install finds the project's runtime dependencies already on ``PYTHONPATH``
(as the image has a ``PYTHONPATH``; here a folder of links to this interpreter's packages, the
project itself left out) and its build requirements in a local wheel folder (``PIP_NO_INDEX``,
``PIP_FIND_LINKS``), downloaded once with the developer's own pip settings and kept in pytest's cache.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from changegate import __version__

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILDSPEC = PROJECT_ROOT / "buildspecs" / "sync.yml"
# what a fresh clone holds: no git data, no virtual environments, no build or cache output
NOT_IN_A_CLONE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                  ".ruff_cache", ".hypothesis", "node_modules")
# packages the install must build itself, never find ready: the build tools and this project
BUILD_TOOLS = re.compile(r"(pip|setuptools|wheel|pkg_resources|_distutils_hack|distutils-precedence)"
                         r"([-_.].*)?", re.IGNORECASE)


def load_buildspec(path: Path = BUILDSPEC) -> dict:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert str(spec["version"]) == "0.2", f"{path}: the test reads buildspec version 0.2"
    return spec


def phase_commands(spec: dict, phase: str) -> list[str]:
    return list(spec["phases"][phase]["commands"])


def expand(command: str, env: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` from ``env``, as the shell would expand them in a plain command."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), command)


def build_requirements() -> list[str]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest depends on tomli there
        import tomli as tomllib
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as file:
        return list(tomllib.load(file)["build-system"]["requires"])


@pytest.fixture(scope="session")
def build_wheels(request, tmp_path_factory) -> Path:
    """A folder with wheels of the project's build requirements (setuptools, wheel).

    Downloaded once with the developer's own pip configuration (the one that just installed the
    project) and kept in pytest's cache, so later runs need no network.
    """
    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("changegate-build-wheels")) if cache else tmp_path_factory.mktemp("wheels")
    requirements = build_requirements()
    done = folder / "requirements.txt"  # written once the download (with dependencies) succeeded
    if not done.is_file() or done.read_text(encoding="utf-8").split("\n") != requirements:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                                 ":all:", "--dest", str(folder), *requirements],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"could not download {requirements}:\n{result.stderr}"
        done.write_text("\n".join(requirements), encoding="utf-8")
    return folder


def installed_packages(target: Path) -> Path:
    """Links to this interpreter's installed packages, without the build tools and the project."""
    project = importlib.metadata.distribution("changegate")
    own = {Path(f).parts[0] for f in project.files or ()}
    own |= set((project.read_text("top_level.txt") or "").split())
    target.mkdir()
    for folder in dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]):
        for entry in Path(folder).iterdir():
            if entry.name in own or entry.name.startswith(("changegate-", "__editable__")) \
                    or entry.suffix == ".pth" or BUILD_TOOLS.fullmatch(entry.name) \
                    or entry.name == "__pycache__" or (target / entry.name).exists():
                continue
            (target / entry.name).symlink_to(entry)
    return target


def lambda_image_env(tmp_path: Path, build_wheels: Path) -> dict[str, str]:
    """The environment of the Lambda image as far as pip is concerned, plus offline installs."""
    pip_site = tmp_path / "opt" / "python" / "site-packages"
    xdg = tmp_path / "etc-xdg"
    (xdg / "pip").mkdir(parents=True)
    (xdg / "pip" / "pip.conf").write_text(f"[global]\ntarget = {pip_site}\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # `python3` is the interpreter running the tests, whatever else PATH holds
    (bin_dir / "python3").symlink_to(sys.executable)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "XDG_")) and k not in ("VIRTUAL_ENV", "HOME")}
    env.update({
        "PATH": os.pathsep.join([str(bin_dir), env.get("PATH", os.defpath)]),
        "HOME": str(home),  # no user pip configuration
        "XDG_CONFIG_DIRS": str(xdg),
        "PYTHONPATH": str(installed_packages(tmp_path / "python-packages")),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(build_wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    return env


def run_phase(commands: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # buildspec 0.2 runs a build's commands in one shell and stops a phase at its first failure
    script = "set -e\n" + "\n".join(commands)
    return subprocess.run(["/bin/sh", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def install_as_codebuild(buildspec: Path, tmp_path: Path, build_wheels: Path):
    """Run the install phase in a copy of the repository: (buildspec, build env, copy, result)."""
    source = tmp_path / "src"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    spec = load_buildspec(buildspec)
    image = lambda_image_env(tmp_path, build_wheels)
    # CodeBuild: the buildspec's variables over the image's, the project's over the buildspec's
    env = {**image, **{k: str(v) for k, v in (spec.get("env", {}).get("variables") or {}).items()},
           "CODEBUILD_SRC_DIR": str(source), "CHANGEGATE_SOURCE_BUCKET": "stub-source-bucket",
           "CHANGEGATE_VENV": str(tmp_path / "changegate-venv")}
    return spec, env, source, run_phase(phase_commands(spec, "install"), env, source)


def test_the_image_configuration_is_live(tmp_path, build_wheels):
    """The simulation itself: pip under it sees the image's `target` (so the next test can fail)."""
    image = lambda_image_env(tmp_path, build_wheels)
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], env=image,
                            capture_output=True, text=True, timeout=60)
    assert f"global.target='{tmp_path / 'opt' / 'python' / 'site-packages'}'" in listed.stdout, listed


def test_sync_buildspec_installs_a_working_changegate_under_the_images_pip_conf(tmp_path, build_wheels):
    spec, env, source, install = install_as_codebuild(BUILDSPEC, tmp_path, build_wheels)
    assert install.returncode == 0, f"install phase failed:\n{install.stdout}\n{install.stderr}"

    (build,) = phase_commands(spec, "build")
    program, *arguments = shlex.split(expand(build, env))
    assert Path(program).is_file(), (
        f"the build command's program {program} does not exist after the install phase\n"
        f"(pip's target: {sorted(p.name for p in (tmp_path / 'opt').rglob('*'))[:10]})")
    assert arguments[:1] == ["sync"]
    version = subprocess.run([program, "--version"], env=env, cwd=source, capture_output=True,
                             text=True, timeout=120)
    assert (version.returncode, version.stdout.strip()) == (0, f"changegate, version {__version__}"), version
    usage = subprocess.run([program, *arguments, "--help"], env=env, cwd=source, capture_output=True,
                           text=True, timeout=120)
    assert usage.returncode == 0, usage.stderr
    assert "Usage: changegate sync" in usage.stdout
    # the program is the venv's own, installed from the copy (not this checkout's editable install)
    venv_python = Path(env["CHANGEGATE_VENV"]) / "bin" / "python"
    origin = subprocess.run([str(venv_python), "-c", "import changegate, sys; print(changegate.__file__)"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert origin.stdout.strip().startswith(env["CHANGEGATE_VENV"]), origin
