"""Text rendering shared by the operator commands: aligned tables, times, change sets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from changegate.approvals import ApprovalRequest
from changegate.changesets import ChangeSet
from changegate.origin import Origin
from changegate.reviewed import LocalReview
from review.render import render_text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is never padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def when(moment: datetime | None) -> str:
    """``2026-11-22 21:46Z`` in UTC, the same for every operator whatever their time zone."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ")


def age(moment: datetime | None, now: datetime) -> str:
    """How long ago: ``45m``, ``3h12m``, ``2d4h``."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def change_set_text(change_set: ChangeSet, *, heading: str | None = None) -> str:
    """The change set as an operator reads it: summary, one row per resource, replacements called out."""
    lines = [heading or f"Change set {change_set.name} on stack {change_set.stack}: "
             f"{change_set.summary.render()}"]
    if change_set.changes:
        rows = [[c.action, c.address, c.resource_type, c.replacement or "-", ", ".join(c.properties) or "-"]
                for c in change_set.changes]
        lines.append(indent(table(["ACTION", "LOGICAL ID", "TYPE", "REPLACEMENT", "CHANGED PROPERTIES"],
                                  rows)))
    replaced = [c for c in change_set.changes if c.replaces]
    if replaced:
        lines.append("Replaced (a new physical resource; the old one is deleted): " + ", ".join(
            f"{c.address}" + (" (conditionally)" if c.replacement == "Conditional" else "")
            for c in replaced))
    return "\n".join(lines)


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def approval_text(request: ApprovalRequest, now: datetime) -> str:
    """A pending approval as the approver must see it before deciding: a warning first when its
    origin fails a check, then where it waits, its commit (and where that was read), its change set."""
    pending = request.pending
    origin = request.origin
    lines = []
    if not origin.trusted:
        lines.append(untrusted_text(origin.problems))
    commit = request.commit or "unknown commit"
    by = f" by {request.author}" if request.author else ""
    subject = f": {request.subject}" if request.subject else ""
    lines += [f"Pipeline {pending.pipeline}, execution {pending.execution_id}",
              f"  waiting for approval at {pending.stage}/{pending.action} since {when(pending.since)} "
              f"({age(pending.since, now)}); {request.progress}"]
    if request.note:
        lines.append(f"  {request.note}")
    lines += [f"  commit {commit}{by}{subject}",
              f"  {provenance_text(origin)}",
              change_set_text(request.change_set)]
    if request.review is not None:
        lines.append(review_text(request.review))
    if request.change_set.console_url:
        lines.append(f"Console: {request.change_set.console_url}")
    return "\n".join(lines)


def review_text(local: LocalReview) -> str:
    """The review as the pipeline's Review action makes it (review/render.py), and the pipeline's own
    verdict beside it when that action ran, with every difference named."""
    lines = [f"Review (the pipeline's review code, run here; {local.policy_note}):",
             indent(render_text(local.review).rstrip("\n"))]
    if local.pipeline is None:
        lines.append("The pipeline's Review action: no outputs recorded for this execution")
        return "\n".join(lines)
    lines.append(f"The pipeline's Review action: risk {local.pipeline.risk}: {local.pipeline.summary}")
    if local.differences:
        lines.append("DIFFERS from the pipeline's review: " + "; ".join(local.differences)
                     + " (the pipeline's review read the stack policy in the source archive, this one "
                     "the stack's current policy; the approval was requested with the pipeline's verdict)")
    else:
        lines.append("  (the same as this review)")
    return "\n".join(lines)


def untrusted_text(problems: Sequence[str]) -> str:
    return "\n".join(["WARNING: the origin of this change cannot be trusted:",
                      *(f"  - {problem}" for problem in problems),
                      "  approve refuses it without --force; reject is always possible."])


def provenance_text(origin: Origin, *, version: bool = True) -> str:
    """``object version V; commit from object metadata; ...; started by the sync``: where each shown
    value was read, and who started the run."""
    read = {}
    for name, where in origin.provenance:
        read.setdefault(where, []).append(name)
    parts = [f"{', '.join(names)} from {where}" for where, names in read.items()]
    started = "started by the sync" if origin.started_by_sync else \
        f"started by {origin.trigger_detail or 'unknown'} ({origin.trigger_type or 'unknown trigger'})"
    text = f"{'; '.join(parts) or 'no commit known'}; {started}"
    return f"object version {origin.source.version or 'unknown'}; {text}" if version else text
