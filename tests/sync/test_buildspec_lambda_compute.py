"""The sync as it runs on CodeBuild's Lambda compute: no /dev/shm, so no multiprocessing locks (F2).

"Due to the Lambda execution environment not having /dev/shm (shared memory for processes)
support, you can't use multiprocessing.Queue or multiprocessing.Pool" (AWS, quoted in
github.com/DataDog/dd-trace-py/issues/7251); the lock behind them fails at
``_multiprocessing.SemLock`` with "OSError: [Errno 38] Function not implemented"
(github.com/nalepae/pandarallel/issues/128). The buildspec passes no ``--jobs``, so the sync asks
for a process per CPU and must lint in one process instead.
"""

from __future__ import annotations

import _multiprocessing
import multiprocessing

import pytest
from sync_fixtures import BUCKET, TEMPLATE, Aws, Repo

from changegate.commands.sync import as_text
from sync.run import SyncOptions, run_sync

# W2001: a parameter no resource uses (a warning: the sync goes on and shows it)
UNUSED_PARAMETER = TEMPLATE.replace("Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n"
                                    "    Default: x\n", 1)
# E3002: a property AWS::SNS::Topic does not have (an error: the sync uploads nothing)
BAD_PROPERTY = TEMPLATE + "      NotAProperty: 1\n"


@pytest.fixture
def lambda_compute(monkeypatch, caplog):
    class SemLock(_multiprocessing.SemLock):  # keeps SEM_VALUE_MAX and the rest
        def __new__(cls, *args, **kwargs):
            raise OSError(38, "Function not implemented")

    monkeypatch.setattr(_multiprocessing, "SemLock", SemLock)
    with pytest.raises(OSError, match="Function not implemented"):  # as on Lambda
        multiprocessing.get_context("fork").Lock()
    caplog.set_level("WARNING", logger="generator.contract.lint")
    return caplog


def sync(repo: Repo, aws: Aws):
    # jobs=3: a pool of three processes is what the sync tries first (the default is one per CPU,
    # which may be one on a small test machine)
    return run_sync(repo.root, aws.s3, aws.codepipeline, SyncOptions(bucket=BUCKET, jobs=3))


def fallback_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "generator.contract.lint"]


def test_a_sync_of_several_changed_stacks_lints_them_all_in_one_process(repo, aws, lambda_compute):
    for folder in ("alpha", "beta", "gamma"):
        repo.put(folder)
        aws.create_pipeline(folder)
    repo.put("beta", template=UNUSED_PARAMETER)
    report = sync(repo, aws)
    assert report.ok, (report.failures, [p.render() for p in report.validation.problems])
    assert report.validation.linted == ("alpha", "beta", "gamma")
    # linting really happened: beta's finding is reported
    assert [(p.stack, p.check) for p in report.validation.warnings] == [("beta", "cfn-lint W2001")]
    assert sorted(report.uploaded) == sorted(report.started) == ["alpha", "beta", "gamma"]
    assert fallback_messages(lambda_compute) == [
        "linting in one process: cannot create a pool of 3 lint processes "
        "(OSError: [Errno 38] Function not implemented)"]

    for folder in ("alpha", "beta", "gamma"):
        repo.put(folder, topic=f"changed-{folder}")
    repo.put("gamma", topic="changed-gamma", template=BAD_PROPERTY)
    aws.calls.clear()
    refused = sync(repo, aws)
    assert refused.validation.linted == ("alpha", "beta", "gamma")
    assert not refused.valid
    assert [(p.stack, p.check) for p in refused.validation.errors] == [("gamma", "cfn-lint E3002")]
    # the sync's text output names the rule, for a .cfnlintrc ignore (issue 9, item 13)
    assert "stacks/gamma/template.yaml:10: error: Additional properties are not allowed ('NotAProperty' " \
           "was unexpected) [cfn-lint E3002]" in as_text(refused).splitlines()
    assert [c for c in aws.calls if c in ("PutObject", "DeleteObject")] == []
