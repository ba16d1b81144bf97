"""The live run's answer: one line per question, as Markdown for people and JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

PASS, FAIL, MANUAL = "pass", "fail", "manual"
# "error": the probe itself could not run to an answer (AWS refused a call, a timeout). Not a pass.
ERROR = "error"
OUTCOMES = (PASS, FAIL, MANUAL, ERROR)


@dataclass(frozen=True)
class Result:
    id: str  # Q1..Q12, as in ../shared/notes/aws-fidelity.md section 2
    finding: str  # the finding it settles: "F5", "F6, F18", ...
    question: str
    expected: str  # what changegate's code assumes
    observed: str
    outcome: str  # pass | fail | manual | error
    details: str = ""  # steps for a manual question, raw evidence otherwise

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"{self.id}: outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")


def judged(id: str, finding: str, question: str, expected: str, observed: str, ok: bool,
           details: str = "") -> Result:
    return Result(id, finding, question, expected, observed, PASS if ok else FAIL, details)


def _cell(text: str) -> str:
    """One Markdown table cell: no line break, no unescaped pipe."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(results: Iterable[Result], *, project: str, region: str, started: datetime) -> str:
    results = list(results)
    counts = {o: sum(r.outcome == o for r in results) for o in OUTCOMES}
    lines = [
        f"# changegate live acceptance: {project} in {region}",
        "",
        f"Run started {started:%Y-%m-%d %H:%M} UTC. "
        + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES) + ".",
        "",
        "| id | finding | question | expected (what the code assumes) | observed | outcome |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.id} | {r.finding} | {_cell(r.question)} | {_cell(r.expected)} | {_cell(r.observed)} "
              f"| **{r.outcome}** |" for r in results]
    extra = [r for r in results if r.details]
    if extra:
        lines += ["", "## Details", ""]
        for r in extra:
            lines += [f"### {r.id} ({r.outcome})", "", r.details.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(results: Iterable[Result], directory: Path, *, project: str, region: str,
                 started: datetime | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.json`` under ``directory``; return both paths."""
    results = sorted(results, key=lambda r: int(r.id.lstrip("Q")))
    started = started or datetime.now(timezone.utc)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / "report.md", directory / "report.json"
    md.write_text(markdown(results, project=project, region=region, started=started), "utf-8")
    js.write_text(json.dumps({"project": project, "region": region, "started": started.isoformat(),
                              "results": [asdict(r) for r in results]}, indent=2) + "\n", "utf-8")
    return md, js
