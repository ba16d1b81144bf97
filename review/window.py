"""Deployment windows: is a moment inside a stack's window? CodePipeline's DeploymentWindow semantics.

A window is a cron expression and a time zone, as CodePipeline's ``DeploymentWindow`` rule takes them
(CodePipeline user guide, rule-reference-DeploymentWindow): ``Cron`` is "The expression that defines
the days and times when the deployment will be allowed", Quartz fields
``seconds minutes hours day-of-month month day-of-week [year]`` (seconds: only ``*``), and
``TimeZone`` a Region/City name or ``UTC±HH:MM`` (UTC by default). A moment is inside the window
when its minute matches every field but the seconds: ``* * 9-17 ? * MON-FRI *`` allows 09:00-17:59
on weekdays. (The docs' own example ``0 0 9-17 ? * MON-FRI *`` would, read this way, allow only the
first minute of each hour; how CodePipeline reads it is a question for a real account, so write
``*`` minutes for a whole-hours window.)

Supported per field: ``*``, ``?`` (day fields), numbers, ``a-b`` ranges, ``a/n`` and ``*/n`` steps,
lists with ``,``, month names (JAN-DEC) and day names (SUN-SAT, Quartz numbering 1 = SUN ... 7 = SAT).
Quartz's ``L``, ``W`` and ``#`` are refused with a clear error. Three-to-five-letter zone
abbreviations (which the rule also takes) are refused too: "CST" names three different offsets.

Standard library only: this runs inside the Lambda function. (``zoneinfo`` reads the system's
time-zone database; where that is missing, a Region/City zone is a clear error, ``UTC±HH:MM`` works.)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_OFFSET = re.compile(r"\AUTC([+-])(\d{2}):(\d{2})\Z")


class WindowError(ValueError):
    """The window's cron expression or time zone cannot be read; the message says which part and why."""


@dataclass(frozen=True)
class Window:
    cron: str
    time_zone: str = "UTC"


def _values(field: str, low: int, high: int, names: dict[str, int] | None, what: str) -> frozenset[int]:
    if re.search(r"[LW#]", field.upper()):
        raise WindowError(f"{what} {field!r}: L, W and # are not supported; list the days instead")
    out: set[int] = set()
    for part in field.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else None
        if step_text and not step:
            raise WindowError(f"{what} {field!r}: the step after / must be a positive number")

        def number(text: str) -> int:
            if names and text in names:
                return names[text]
            if not text.isdigit():
                raise WindowError(f"{what} {field!r}: {text!r} is not a number"
                                  + (f" or one of {', '.join(names)}" if names else ""))
            value = int(text)
            if not low <= value <= high:
                raise WindowError(f"{what} {field!r}: {value} is outside {low}-{high}")
            return value

        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = number(first), number(last)
            if start > end:
                raise WindowError(f"{what} {field!r}: range {base} runs backwards")
        else:
            start = number(base)
            end = high if step else start
        out.update(range(start, end + 1, step or 1))
    return frozenset(out)


def _zone(name: str) -> dt.tzinfo:
    if name in ("", "UTC", "GMT"):
        return dt.timezone.utc
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        return dt.timezone(-delta if sign == "-" else delta)
    if re.fullmatch(r"[A-Z]{3,5}", name):
        raise WindowError(f"time zone {name!r}: abbreviations are ambiguous; write a Region/City name "
                          "(e.g. America/Los_Angeles) or UTC+HH:MM")
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"time zone {name!r} is not known here; write a Region/City name or "
                          "UTC+HH:MM") from exc


def inside(window: Window, moment: dt.datetime) -> bool:
    """Whether ``moment`` (timezone-aware) falls in ``window``. Raises WindowError for a bad window."""
    fields = window.cron.split()
    if len(fields) not in (6, 7):
        raise WindowError(f"cron {window.cron!r}: expected 6 or 7 fields (seconds minutes hours "
                          f"day-of-month month day-of-week [year]), got {len(fields)}")
    seconds, minutes, hours, dom, month, dow = fields[:6]
    if seconds != "*" and seconds != "0":
        raise WindowError(f"cron {window.cron!r}: seconds must be * or 0 (a window is made of minutes)")
    local = moment.astimezone(_zone(window.time_zone))
    quartz_dow = local.isoweekday() % 7 + 1  # Monday=1..Sunday=7 -> SUN=1..SAT=7
    day_ok = ((dom == "?" or local.day in _values(dom, 1, 31, None, "day-of-month"))
              and (dow == "?" or quartz_dow in _values(dow, 1, 7, DAYS, "day-of-week")))
    year_ok = len(fields) == 6 or local.year in _values(fields[6], 1970, 2199, None, "year")
    return (local.minute in _values(minutes, 0, 59, None, "minutes")
            and local.hour in _values(hours, 0, 23, None, "hours")
            and local.month in _values(month, 1, 12, MONTHS, "month")
            and day_ok and year_ok)
