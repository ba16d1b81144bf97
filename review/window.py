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
import functools
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


@dataclass(frozen=True)
class _Fields:
    """A window's cron fields, each read once into the set of values it allows."""

    zone: dt.tzinfo
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: ? (any)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # Quartz numbering, None: ? (any)
    years: frozenset[int] | None  # None: no year field

    def day_matches(self, local: dt.datetime) -> bool:
        quartz_dow = local.isoweekday() % 7 + 1  # Monday=1..Sunday=7 -> SUN=1..SAT=7
        return ((self.days is None or local.day in self.days)
                and (self.weekdays is None or quartz_dow in self.weekdays)
                and local.month in self.months
                and (self.years is None or local.year in self.years))

    def matches(self, local: dt.datetime) -> bool:
        return local.minute in self.minutes and local.hour in self.hours and self.day_matches(local)


def _fields(window: Window) -> _Fields:
    fields = window.cron.split()
    if len(fields) not in (6, 7):
        raise WindowError(f"cron {window.cron!r}: expected 6 or 7 fields (seconds minutes hours "
                          f"day-of-month month day-of-week [year]), got {len(fields)}")
    seconds, minutes, hours, dom, month, dow = fields[:6]
    if seconds != "*" and seconds != "0":
        raise WindowError(f"cron {window.cron!r}: seconds must be * or 0 (a window is made of minutes)")
    return _Fields(
        zone=_zone(window.time_zone),
        minutes=_values(minutes, 0, 59, None, "minutes"),
        hours=_values(hours, 0, 23, None, "hours"),
        days=None if dom == "?" else _values(dom, 1, 31, None, "day-of-month"),
        months=_values(month, 1, 12, MONTHS, "month"),
        weekdays=None if dow == "?" else _values(dow, 1, 7, DAYS, "day-of-week"),
        years=_values(fields[6], 1970, 2199, None, "year") if len(fields) == 7 else None)


def zone(name: str) -> dt.tzinfo:
    """The time zone ``name`` names (Region/City, UTC or UTC+HH:MM); WindowError otherwise."""
    return _zone(name)


def inside(window: Window, moment: dt.datetime) -> bool:
    """Whether ``moment`` (timezone-aware) falls in ``window``. Raises WindowError for a bad window."""
    spec = _fields(window)
    return spec.matches(moment.astimezone(spec.zone))


# How far ahead next_opening and longest_closed_gap look: a year and a day covers every window whose
# fields repeat yearly (months, days of month, weekdays); a window with a year field may never open
# again, which they report as None / the whole horizon.
SEARCH_DAYS = 366
_MINUTE = dt.timedelta(minutes=1)


def _start_of_minute(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)


def _later(moment: dt.datetime, local_next: dt.datetime) -> dt.datetime:
    """``local_next`` (wall-clock arithmetic in the window's zone) as UTC, never before ``moment`` + 1 min.

    Around a daylight-saving change, wall-clock "next hour" or "next midnight" can map to the same
    or an earlier instant; moving at least one minute keeps every search going forwards.
    """
    return max(local_next.astimezone(dt.timezone.utc), moment + _MINUTE)


def _next_opening(spec: _Fields, moment: dt.datetime, limit: dt.datetime) -> dt.datetime | None:
    while moment < limit:
        local = moment.astimezone(spec.zone)
        if not spec.day_matches(local):
            moment = _later(moment, local.replace(hour=0, minute=0) + dt.timedelta(days=1))
        elif local.hour not in spec.hours:
            moment = _later(moment, local.replace(minute=0) + dt.timedelta(hours=1))
        elif local.minute not in spec.minutes:
            moment += _MINUTE
        else:
            return moment
    return None


def _next_closing(spec: _Fields, moment: dt.datetime, limit: dt.datetime) -> dt.datetime | None:
    every_minute = len(spec.minutes) == 60
    while moment < limit:
        local = moment.astimezone(spec.zone)
        if not spec.matches(local):
            return moment
        # A whole hour open: skip to its end rather than walk its minutes.
        moment = (_later(moment, local.replace(minute=0) + dt.timedelta(hours=1)) if every_minute
                  else moment + _MINUTE)
    return None


def next_opening(window: Window, after: dt.datetime, *, days: int = SEARCH_DAYS) -> dt.datetime | None:
    """The first minute at or after ``after`` inside ``window`` (UTC), or None within ``days`` days.

    Bounded: it walks days, then hours, then minutes, skipping whole days and hours the window
    excludes, so a year's search costs a few thousand steps.
    """
    spec = _fields(window)
    start = _start_of_minute(after)
    if start < after:
        start += _MINUTE
    return _next_opening(spec, start, start + dt.timedelta(days=days))


@dataclass(frozen=True)
class Gap:
    """A stretch during which the window is closed: from ``closes`` until ``opens`` (UTC)."""

    closes: dt.datetime
    opens: dt.datetime | None  # None: does not open again within the search

    @property
    def length(self) -> dt.timedelta | None:
        return None if self.opens is None else self.opens - self.closes


def longest_closed_gap(window: Window, start: dt.datetime, *, days: int = SEARCH_DAYS) -> Gap | None:
    """The longest closed stretch of ``window`` that begins within ``days`` days of ``start``.

    None when the window never closes in that time; a Gap whose ``opens`` is None when it closes and
    does not open again within the search (or never opens at all).
    """
    spec = _fields(window)
    moment = _start_of_minute(start)
    limit = moment + dt.timedelta(days=days)
    # Searching for the next opening may run past the limit by the length of one gap.
    far = limit + dt.timedelta(days=days)
    longest: Gap | None = None
    while moment < limit:
        closes = _next_closing(spec, moment, limit)
        if closes is None:
            break
        opens = _next_opening(spec, closes, far)
        gap = Gap(closes, opens)
        if opens is None:
            return gap
        if longest is None or gap.length > longest.length:
            longest = gap
        moment = opens
    return longest


# ---- how many WaitForWindow actions a window needs ----

# One Lambda invoke action waits at most this long: "the Lambda invoke action times out after 24
# hours" (CodePipeline user guide, limits), and the step gives up a margin before that so that its
# own message, not a timeout, says what happened (review/steps.py window_step).
WAIT_PER_ACTION = dt.timedelta(hours=23, minutes=30)
# At most this many WaitForWindow actions in a row (each ~300 bytes of the bootstrap template per
# stack): 8 cover 188 hours, a window that opens once a week. A window closed longer than that
# still works, but a change approved at the start of such a gap fails and must be retried.
MAX_WAIT_ACTIONS = 8
# The gap is measured over a year from this fixed Monday, not from today, so that the generated
# template (how many wait actions) depends only on the configuration, never on when it is made.
# A year holds both daylight-saving changes of every zone that has them.
GAP_REFERENCE = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


@functools.lru_cache(maxsize=256)
def reference_gap(window: Window) -> Gap | None:
    """The window's longest closed stretch within a year of GAP_REFERENCE (cached: stacks share windows)."""
    return longest_closed_gap(window, GAP_REFERENCE)


def wait_actions(window: Window) -> int:
    """How many WaitForWindow actions in a row cover the window's longest closed stretch.

    Each action waits up to WAIT_PER_ACTION and then hands on to the next; the last one fails,
    saying when the window opens. A window that is never closed for long needs one; a weekday
    window (closed Friday evening to Monday morning, 64 hours) needs three; a window that may not
    open again within a year gets MAX_WAIT_ACTIONS.
    """
    gap = reference_gap(window)
    if gap is None:
        return 1
    if gap.length is None:
        return MAX_WAIT_ACTIONS
    needed = -(-gap.length // WAIT_PER_ACTION)  # ceiling division of timedeltas
    return max(1, min(MAX_WAIT_ACTIONS, int(needed)))
