"""Local content vs remote state: which stacks are added, changed, removed or unchanged.

The plan is computed in two steps so the common case costs no request at all: ``classify``
uses only the listing and the manifest; the stacks it cannot decide (an object the manifest does
not describe, see ``state``) are returned as ``unknown`` and resolved by ``resolve_unknown`` with
one HEAD each.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sync.archive import Archive
from sync.state import RemoteState, StackRecord


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)  # no current object
    changed: list[str] = field(default_factory=list)  # an object with other content
    removed: list[str] = field(default_factory=list)  # an object, no folder any more
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # needs a HEAD to decide
    # removed stacks whose object the manifest does not describe: a HEAD tells the rollback
    # check which commit it came from
    unknown_removed: list[str] = field(default_factory=list)
    # what is known of each current object (manifest record, or read by HEAD)
    records: dict[str, StackRecord] = field(default_factory=dict)
    # folders the manifest still names although their object is gone: dropped from it
    forgotten: list[str] = field(default_factory=list)

    @property
    def to_upload(self) -> list[str]:
        return sorted(self.added + self.changed)

    def pending_starts(self, disabled: Collection[str]) -> list[str]:
        """Unchanged stacks whose current object's pipeline was never started (an earlier run
        was interrupted, ran with --no-start, or found no pipeline)."""
        return sorted(f for f in self.unchanged
                      if f not in disabled and self.records.get(f) and self.records[f].pending_start)


def classify(local: Mapping[str, Archive], remote: RemoteState) -> Plan:
    plan = Plan()
    for folder in sorted(local):
        obj = remote.objects.get(folder)
        if obj is None:
            plan.added.append(folder)
            continue
        record = remote.records.get(folder)
        if record is None or record.etag != obj.etag:
            plan.unknown.append(folder)
            continue
        plan.records[folder] = record
        (plan.unchanged if record.sha256 == local[folder].sha256 else plan.changed).append(folder)
    for folder in sorted(set(remote.objects) - set(local)):
        plan.removed.append(folder)
        if folder in remote.records and remote.records[folder].etag == remote.objects[folder].etag:
            plan.records[folder] = remote.records[folder]
        else:
            plan.unknown_removed.append(folder)
    plan.forgotten = sorted(set(remote.records) - set(remote.objects))
    return plan


def resolve_unknown(plan: Plan, local: Mapping[str, Archive], heads: Mapping[str, StackRecord]) -> Plan:
    """Decide the unknown stacks from what their objects' metadata says."""
    for folder in plan.unknown_removed:
        plan.records[folder] = heads[folder]
    plan.unknown_removed = []
    for folder in plan.unknown:
        record = heads[folder]
        plan.records[folder] = record
        if record.sha256 is not None and record.sha256 == local[folder].sha256:
            plan.unchanged.append(folder)
        else:
            plan.changed.append(folder)
    plan.unknown = []
    plan.unchanged.sort()
    plan.changed.sort()
    return plan
