"""The preview needs no AWS: running it end to end loads neither boto3 nor botocore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.preview.git_fixtures import commit, data_template, init

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("boto3", "botocore")


def test_a_preview_through_the_command_line_loads_no_boto3(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    base = init(root, {"stacks/data/template.json": data_template()})
    template = data_template()
    template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 5
    head = commit(root, {"stacks/data/template.json": template})
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from changegate.cli import main\n"
        f"rc = main(['preview', '--root', {str(root)!r}, '--base', {base!r}, '--head', {head!r},"
        " '--format', 'json'])\n"
        f"print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert '"Properties.VisibilityTimeout"' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "LOADED []"
