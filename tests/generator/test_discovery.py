"""discover_stacks: one folder per stack, exactly one template, at most one config."""

from __future__ import annotations

from pathlib import Path

from generator.contract.discovery import discover_stacks

TEMPLATE = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"


def make(root: Path, *relpaths: str) -> Path:
    for relpath in relpaths:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE if "template" in relpath else "{}", encoding="utf-8")
    return root


def test_finds_every_stack_sorted_with_its_files(tmp_path):
    root = make(tmp_path, "stacks/web/template.yaml", "stacks/web/config.json",
                "stacks/db/template.yml", "stacks/db/config.yaml",
                "stacks/api/template.json", "stacks/api/README.md")
    sources, problems = discover_stacks(root)
    assert problems == []
    assert [s.name for s in sources] == ["api", "db", "web"]
    api, db, web = sources
    assert (api.template_path.name, api.config_path) == ("template.json", None)
    assert (db.template_path.name, db.config_path.name) == ("template.yml", "config.yaml")
    assert web.directory == root / "stacks/web"
    assert web.config_path == root / "stacks/web/config.json"


def test_config_yml_is_a_config(tmp_path):
    (source,), problems = discover_stacks(make(tmp_path, "stacks/a/template.yaml", "stacks/a/config.yml"))
    assert problems == []
    assert source.config_path.name == "config.yml"


def test_hidden_files_are_ignored_and_hidden_folders_reported(tmp_path):
    # issue 9, item 15: a dot-folder is reported, not silently skipped
    root = make(tmp_path, "stacks/a/template.yaml", "stacks/.gitkeep", "stacks/.cache/template.yaml",
                "stacks/.notes/README.md")
    sources, problems = discover_stacks(root)
    assert [s.name for s in sources] == ["a"]
    assert [(p.file, p.check, p.severity.value) for p in problems] == [
        ("stacks/.cache", "stacks-dot-folder", "error"), ("stacks/.notes", "stacks-dot-folder", "warning")]
    assert "holds a template" in problems[0].message


def test_a_stacks_folder_that_is_a_link_is_reported_once(tmp_path):
    # issue 9, item 15: once, as such, not once per stack seen through it
    elsewhere = make(tmp_path / "elsewhere", "stacks/a/template.yaml", "stacks/b/template.yaml")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo/stacks").symlink_to(elsewhere / "stacks", target_is_directory=True)
    sources, problems = discover_stacks(tmp_path / "repo")
    assert sources == []
    assert [(p.file, p.check) for p in problems] == [("stacks", "stacks-symlink")]
    assert "stacks/ is a symbolic link" in problems[0].message


def test_missing_stacks_folder(tmp_path):
    sources, (problem,) = discover_stacks(tmp_path)
    assert sources == []
    assert (problem.check, problem.file, problem.severity.value) == ("stacks-missing", "stacks", "error")


def test_a_bad_folder_is_left_out_and_the_others_still_found(tmp_path):
    root = make(tmp_path, "stacks/good/template.yaml",
                "stacks/twice/template.yaml", "stacks/twice/template.json",
                "stacks/configs/template.yaml", "stacks/configs/config.json", "stacks/configs/config.yaml",
                "stacks/none/config.json")
    sources, problems = discover_stacks(root)
    assert [s.name for s in sources] == ["good"]
    assert sorted((p.stack, p.check, p.file) for p in problems) == [
        ("configs", "stack-two-configs", "stacks/configs"),
        ("none", "stack-no-template", "stacks/none"),
        ("twice", "stack-two-templates", "stacks/twice"),
    ]


def test_a_link_inside_the_repository_is_accepted(tmp_path):
    root = make(tmp_path, "stacks/a/template.yaml", "shared/config.json")
    (root / "stacks/a/config.json").symlink_to(root / "shared/config.json")
    (source,), problems = discover_stacks(root)
    assert problems == []
    assert source.config_path == root / "stacks/a/config.json"


def test_links_out_of_the_repository_are_refused(tmp_path):
    root = make(tmp_path / "repo", "stacks/a/config.json")
    outside = make(tmp_path / "outside", "template.yaml")
    (root / "stacks/a/template.yaml").symlink_to(outside / "template.yaml")
    (root / "stacks/b").symlink_to(outside, target_is_directory=True)
    sources, problems = discover_stacks(root)
    assert sources == []
    assert sorted((p.check, p.file) for p in problems) == [
        ("stack-symlink", "stacks/a/template.yaml"), ("stack-symlink", "stacks/b")]
    assert str(outside / "template.yaml") in problems[0].message
