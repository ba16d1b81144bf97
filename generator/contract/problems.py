"""What a check reports: one ``Problem`` per finding, never an exception.

Checks collect problems instead of raising so that ``changegate validate`` reports every
problem in every stack in one run, not only the first.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass

# Text output shortens longer messages to their start and end; JSON output keeps them whole.
TEXT_MESSAGE_LIMIT = 300


def shorten(message: str, limit: int = TEXT_MESSAGE_LIMIT) -> str:
    """``message`` if it is at most ``limit`` characters, else about ``limit``: its start and its end.

    The end stays because it carries the verdict and the rule id: cfn-lint prints the offending
    value first ("{...2,600 characters...} is not of type 'string' [cfn-lint E3012]").
    """
    if len(message) <= limit:
        return message
    head, tail = limit * 3 // 5, limit // 4
    omitted = len(message) - head - tail
    return (f"{message[:head]} ... [{omitted:,} more characters; --format json shows them] ... "
            f"{message[-tail:]}")


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding: where it is, what is wrong and how to fix it.

    ``file`` is relative to the repository root; ``key`` is a dotted key path inside the
    file (``Parameters.VpcCidr``) when the problem has one; ``check`` is a short stable id
    (``parameter-type``) that tests and JSON consumers can rely on.
    """

    file: str
    line: int | None
    key: str | None
    check: str
    message: str
    severity: Severity = Severity.ERROR
    hint: str | None = None
    stack: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.key:
            where += f" [{self.key}]"
        return where

    def render(self) -> str:
        text = f"{self.location()}: {self.severity.value}: {shorten(self.message)}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def error(file: str, check: str, message: str, **where) -> Problem:
    return Problem(file=file, check=check, message=message, severity=Severity.ERROR,
                   line=where.pop("line", None), key=where.pop("key", None), **where)


def warning(file: str, check: str, message: str, **where) -> Problem:
    return Problem(file=file, check=check, message=message, severity=Severity.WARNING,
                   line=where.pop("line", None), key=where.pop("key", None), **where)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def render_all(problems: Iterable[Problem]) -> str:
    return "\n".join(p.render() for p in problems)
