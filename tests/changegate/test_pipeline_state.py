"""Reading every pipeline's state: pagination over 150 pipelines, orphans, per-row failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cg_stubs import NOW, state, uuid_for

from changegate.aws import AccessDeniedError
from changegate.pipeline_state import list_project_pipelines, parse_state, read_status


def pipeline_pages(names: list[str], size: int = 50) -> list[dict]:
    pages = []
    for start in range(0, len(names), size):
        page = {"pipelines": [{"name": n, "version": 1, "pipelineType": "V2", "executionMode": "QUEUED",
                               "created": NOW - timedelta(days=9), "updated": NOW - timedelta(days=9)}
                              for n in names[start:start + size]]}
        if start + size < len(names):
            page["nextToken"] = f"page-{start // size + 1}"
        pages.append(page)
    return pages


def stub_listing(stubs, names: list[str]) -> None:
    for i, page in enumerate(pipeline_pages(names)):
        stubs.cp.add_response("list_pipelines", page, {"nextToken": f"page-{i}"} if i else {})


def test_listing_follows_every_page_and_keeps_only_the_projects_stack_pipelines(stubs):
    folders = [f"stack{i:03d}" for i in range(150)]
    names = sorted([f"acme-{f}" for f in folders] + ["acme-sync", "other-network", "acme-pipelines"])
    stub_listing(stubs, names)
    found = list_project_pipelines(stubs.codepipeline, "acme")
    stubs.verify()  # all 4 pages were requested, with the right nextToken each time
    assert found == {f: f"acme-{f}" for f in folders}


def test_status_of_150_pipelines(stubs):
    folders = [f"stack{i:03d}" for i in range(150)]
    stacks = {f: f"acme-{f}" for f in folders if f != "stack149"}  # stack149's folder was removed
    stacks["brandnew"] = "acme-brandnew"  # a folder without a pipeline yet
    stub_listing(stubs, [f"acme-{f}" for f in folders])
    for i, folder in enumerate(folders):
        pipeline = f"acme-{folder}"
        if i % 50 == 0:  # three approvals pending
            stubs.get_pipeline_state(pipeline, pending=i + 2)
            stubs.list_pipeline_executions(pipeline, i + 2, status="InProgress")
            stubs.get_pipeline_execution(pipeline, i + 2)
            stubs.list_action_executions(pipeline, i + 2, f"acme-{folder}")
        elif i % 50 == 1:  # three failed
            stubs.get_pipeline_state(pipeline, failed=i + 2)
            stubs.list_pipeline_executions(pipeline, i + 2, status="Failed")
            stubs.get_pipeline_execution(pipeline, i + 2)
        else:
            stubs.get_pipeline_state(pipeline)
            stubs.list_pipeline_executions(pipeline, 1)
            stubs.get_pipeline_execution(pipeline, 1)
    summaries = []

    def summarize(stack: str, change_set: str):
        summaries.append((stack, change_set))
        return "summary"

    report = read_status(stubs.codepipeline, "acme", stacks, change_summary=summarize, workers=1)
    stubs.verify()
    assert len(report.rows) == 151
    assert (report.pending, report.failed, report.in_progress) == (3, 3, 3)
    by_folder = {r.folder: r for r in report.rows}
    assert by_folder["brandnew"].note == "no pipeline yet" and by_folder["brandnew"].pipeline is None
    assert by_folder["stack149"].note == "stack removed from stacks/"
    assert by_folder["stack001"].state.where == "Change/CreateChangeSet"
    assert by_folder["stack001"].state.stage_status == "Failed"
    assert by_folder["stack050"].state.where == "Change/Approve"
    assert by_folder["stack050"].pending.execution_id == uuid_for(52)
    assert by_folder["stack050"].change_summary == "summary"
    assert summaries == [(f"acme-stack{i:03d}", f"acme-{uuid_for(i + 2)}") for i in (0, 50, 100)]
    last = by_folder["stack002"].last
    assert last.commit == "9fceb02d0ae598e95dc970b74767f19372d61af8"
    assert last.object_version == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert last.ended == NOW - timedelta(hours=2, minutes=50)
    assert by_folder["stack000"].last.ended is None  # still in progress


def test_only_some_stacks(stubs):
    stub_listing(stubs, ["acme-database", "acme-network"])
    stubs.get_pipeline_state("acme-network")
    stubs.cp.add_response("list_pipeline_executions", {"pipelineExecutionSummaries": []},
                          {"pipelineName": "acme-network", "maxResults": 1})
    report = read_status(stubs.codepipeline, "acme", {"database": "acme-database", "network": "acme-network"},
                         only=["network"], workers=1)
    stubs.verify()
    assert [r.folder for r in report.rows] == ["network"]
    assert report.rows[0].last is None


def test_a_denied_listing_falls_back_to_the_repositorys_stacks(stubs):
    """F12: ListPipelines takes only "*", and an approver's role may lack it. The repository names
    the pipelines that should exist: they are read one by one; a missing one is "no pipeline yet"."""
    stubs.cp.add_client_error("list_pipelines", "AccessDeniedException",
                              "User: arn:aws:sts::123456789012:assumed-role/Dev/x is not authorized to "
                              "perform: codepipeline:ListPipelines", http_status_code=400)
    stubs.get_pipeline_state("acme-database", pending=7)
    stubs.list_pipeline_executions("acme-database", 7, status="InProgress")
    stubs.get_pipeline_execution("acme-database", 7)
    stubs.cp.add_client_error("get_pipeline_state", "PipelineNotFoundException", "not found",
                              http_status_code=400, expected_params={"name": "acme-network"})
    report = read_status(stubs.codepipeline, "acme", {"database": "acme-database", "network": "acme-network"},
                         workers=1)
    stubs.verify()
    assert report.listing_denied == "codepipeline:ListPipelines"
    rows = {r.folder: r for r in report.rows}
    assert rows["database"].pending.execution_id == uuid_for(7)
    assert (rows["network"].pipeline, rows["network"].note, rows["network"].error) == (
        None, "no pipeline yet", None)


def test_a_denied_state_read_is_not_repeated_for_every_row(stubs):
    stub_listing(stubs, ["acme-database", "acme-network"])
    stubs.cp.add_client_error("get_pipeline_state", "AccessDeniedException", "not authorized",
                              http_status_code=400, expected_params={"name": "acme-database"})
    with pytest.raises(AccessDeniedError, match="codepipeline:GetPipelineState on pipeline acme-database"):
        read_status(stubs.codepipeline, "acme", {"database": "x", "network": "y"}, workers=1)


def test_a_missing_pipeline_is_one_rows_error(stubs):
    stub_listing(stubs, ["acme-database"])
    stubs.cp.add_client_error("get_pipeline_state", "PipelineNotFoundException", "not found",
                              http_status_code=400)
    report = read_status(stubs.codepipeline, "acme", {"database": "acme-database"}, workers=1)
    assert "PipelineNotFoundException" in report.rows[0].error


def test_queued_executions_count_as_running():
    parsed = parse_state("acme-network", state("acme-network", pending=7, queued=(8, 9)))
    assert set(parsed.running) == {uuid_for(7), uuid_for(8), uuid_for(9)}
    assert parsed.where == "Change/Approve"
    assert parsed.queued == ((uuid_for(8), "Change"), (uuid_for(9), "Change"))
