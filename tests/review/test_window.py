"""review/window.py: a moment inside a deployment window, with CodePipeline's DeploymentWindow cron fields."""

from __future__ import annotations

import datetime as dt

import pytest

from review.window import Window, WindowError, inside

UTC = dt.timezone.utc
WEEKDAYS = Window("* * 9-17 ? * MON-FRI *", "UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-12-02T09:00:00+00:00", True),   # Wednesday, first minute
    ("2026-12-02T17:59:59+00:00", True),   # last minute of 17h
    ("2026-12-02T18:00:00+00:00", False),
    ("2026-12-02T08:59:59+00:00", False),
    ("2026-12-05T12:00:00+00:00", False),  # Saturday
    ("2026-12-06T12:00:00+00:00", False),  # Sunday
    ("2026-12-07T12:00:00+00:00", True),   # Monday
])
def test_weekday_hours(moment: str, expected: bool) -> None:
    assert inside(WEEKDAYS, at(moment)) is expected


def test_the_time_zone_moves_the_window() -> None:
    window = Window("* * 9-17 ? * MON-FRI *", "UTC+05:30")
    assert inside(window, at("2026-12-02T03:30:00+00:00"))  # 09:00 in UTC+05:30
    assert not inside(window, at("2026-12-02T03:29:00+00:00"))
    west = Window("* * 9-17 ? * MON-FRI", "UTC-08:00")
    assert inside(west, at("2026-12-02T17:00:00+00:00")) and not inside(west, at("2026-12-02T16:59:00+00:00"))


def test_region_city_zones_follow_daylight_saving() -> None:
    window = Window("* * 9 ? * * *", "Europe/Berlin")
    assert inside(window, at("2026-01-15T08:30:00+00:00"))  # CET, UTC+1
    assert inside(window, at("2026-07-15T07:30:00+00:00"))  # CEST, UTC+2


def test_steps_lists_names_and_days_of_month() -> None:
    assert inside(Window("* 0/15 * ? * *"), at("2026-12-02T10:30:00+00:00"))
    assert not inside(Window("* 0/15 * ? * *"), at("2026-12-02T10:31:00+00:00"))
    assert inside(Window("* * * 1,15 JAN-MAR ?"), at("2026-02-15T00:00:00+00:00"))
    assert not inside(Window("* * * 1,15 JAN-MAR ?"), at("2026-04-15T00:00:00+00:00"))
    assert inside(Window("* * * ? * 1"), at("2026-12-06T00:00:00+00:00"))  # 1 = SUN (Quartz)
    assert not inside(Window("* * * ? * * 2025"), at("2026-12-06T00:00:00+00:00"))


@pytest.mark.parametrize(("window", "says"), [
    (Window("* * 9-17 ? *"), "expected 6 or 7 fields"),
    (Window("* * 9-17 L * ?"), "L, W and # are not supported"),
    (Window("* * 25 ? * *"), "25 is outside 0-23"),
    (Window("* * 17-9 ? * *"), "runs backwards"),
    (Window("* * * ? * FUNDAY"), "not a number or one of SUN"),
    (Window("5 * * ? * *"), "seconds must be * or 0"),
    (Window("* * * ? * *", "PST"), "abbreviations are ambiguous"),
    (Window("* * * ? * *", "Mars/Olympus"), "is not known here"),
])
def test_bad_windows_say_what_is_wrong(window: Window, says: str) -> None:
    with pytest.raises(WindowError, match=says.replace("*", r"\*")):
        inside(window, at("2026-12-02T10:00:00+00:00"))
