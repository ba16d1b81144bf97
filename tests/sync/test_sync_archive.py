"""Archives: deterministic bytes for identical content, a different hash for any content change."""

from __future__ import annotations

import io
import json
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from generator import naming
from sync.archive import (
    FIXED_DATE_TIME,
    build_archive,
    config_bytes,
    config_document,
    content_hash,
)

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
entries = st.dictionaries(names, st.binary(max_size=300), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(entries)
def test_identical_content_gives_identical_bytes_whatever_the_insertion_order(content):
    reordered = dict(reversed(list(content.items())))
    first, second = build_archive(content), build_archive(reordered)
    assert first.data == second.data
    assert first.sha256 == second.sha256 == content_hash(content)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_any_content_change_changes_the_hash_and_the_bytes(content, data):
    name = data.draw(st.sampled_from(sorted(content)))
    change = data.draw(st.sampled_from(["bytes", "rename", "add", "remove"]))
    changed = dict(content)
    if change == "bytes":
        changed[name] = data.draw(st.binary(max_size=300).filter(lambda b: b != content[name]))
    elif change == "rename":
        new_name = data.draw(names.filter(lambda n: n not in content))
        changed[new_name] = changed.pop(name)
    elif change == "add":
        changed[data.draw(names.filter(lambda n: n not in content))] = data.draw(st.binary(max_size=50))
    elif len(changed) > 1:
        del changed[name]
    else:
        changed[name] = content[name] + b"x"
    assert content_hash(changed) != content_hash(content)
    assert build_archive(changed).data != build_archive(content).data


def test_entries_are_sorted_with_fixed_time_and_mode():
    archive = build_archive({"b.txt": b"2", "a.txt": b"1"})
    with zipfile.ZipFile(io.BytesIO(archive.data)) as opened:
        infos = opened.infolist()
    assert [i.filename for i in infos] == ["a.txt", "b.txt"]
    assert {i.date_time for i in infos} == {FIXED_DATE_TIME}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_entry_boundaries_are_part_of_the_hash():
    assert content_hash({"a": b"bc"}) != content_hash({"ab": b"c"})


def test_config_values_are_strings_and_the_stack_policy_rides_along():
    document = config_document({"Port": 3}, {"team": "x"}, {"Statement": []})
    assert json.loads(config_bytes(document)) == {
        "Parameters": {"Port": "3"}, "Tags": {"team": "x"}, "StackPolicy": {"Statement": []}}
    assert "StackPolicy" not in config_document({}, {})


def test_archive_names_are_the_contract():
    assert naming.ARCHIVE_TEMPLATE == "template.yaml"
    assert naming.ARCHIVE_CONFIG == "config.json"
