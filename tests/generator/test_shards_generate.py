"""``changegate generate`` with a repository too large for one template: it writes the shards beside
``pipelines/pipelines.json``, ``--check`` compares every file, and shard files it no longer generates
are removed (and only those)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from shard_repos import REPO

from changegate.cli import main

sys.path.insert(0, str(REPO))
from benchmarks.bench_commands import make_repository


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("large") / "repo"
    make_repository(root, 250)
    return root


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_the_shards_and_check_compares_them(large: Path, capsys) -> None:
    code, out, err = _run(capsys, "--root", str(large))
    assert code == 0, err
    shards = sorted((large / "pipelines" / "shards").glob("*.json"))
    assert len(shards) == 16
    assert f"; sharded: 16 nested-stack templates in {large / 'pipelines' / 'shards'}" in out
    parent = json.loads((large / "pipelines" / "pipelines.json").read_text())
    named = {v["Template"] for v in parent["Metadata"]["Changegate"]["Shards"].values()}
    assert named == {f"shards/{p.name}" for p in shards}
    code, out, _ = _run(capsys, "--root", str(large), "--check")
    assert code == 0 and "is up to date" in out

    # a hand-edited shard is stale; a shard file the template no longer names is left over
    edited = shards[3]
    edited.write_text(edited.read_text().replace('"Stacks"', '"stacks"'))
    leftover = large / "pipelines" / "shards" / "99.json"
    leftover.write_text("{}")
    mine = large / "pipelines" / "shards" / "notes.json"  # not of the NN.json form: not generate's
    mine.write_text("{}")
    code, _, err = _run(capsys, "--root", str(large), "--check")
    assert code != 0
    assert str(edited) in err and str(leftover) in err and "are stale, missing or left over" in err
    assert str(large / "pipelines" / "pipelines.json") not in err  # the parent is current

    code, out, _ = _run(capsys, "--root", str(large))
    assert code == 0
    assert f"removed {leftover} (no longer a shard)" in out
    assert not leftover.exists() and mine.exists()
    assert _run(capsys, "--root", str(large), "--check")[0] == 0


def test_generate_refuses_a_stack_named_like_a_shard(tmp_path: Path, capsys) -> None:
    root = tmp_path / "repo"
    make_repository(root, 2)
    (root / "stacks" / "network-0000").rename(root / "stacks" / "pipelines-old")
    code, _, err = _run(capsys, "--root", str(root))
    assert code != 0
    # validate's check (generator/contract/shard_names.py) stops it before anything is built
    assert "stacks/pipelines-old: error: stack name 'acme-pipelines-old'" in err
    assert "the stacks have errors" in err
    assert not (root / "pipelines" / "pipelines.json").exists()
