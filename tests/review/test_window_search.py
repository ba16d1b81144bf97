"""review/window.py: when a deployment window next opens, how long it can stay closed (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from review import window
from review.window import Gap, Window, WindowError, longest_closed_gap, next_opening

UTC = dt.timezone.utc
WEEKDAYS = Window("* * 9-16 ? * MON-FRI", "UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(("after", "opens"), [
    ("2026-12-02T10:15:30+00:00", "2026-12-02T10:16:00+00:00"),  # inside: the next whole minute
    ("2026-12-02T10:15:00+00:00", "2026-12-02T10:15:00+00:00"),  # inside, on the minute: now
    ("2026-12-02T17:00:00+00:00", "2026-12-03T09:00:00+00:00"),  # after hours: tomorrow
    ("2026-12-04T17:00:00+00:00", "2026-12-07T09:00:00+00:00"),  # Friday evening: Monday
    ("2026-12-05T10:00:00+00:00", "2026-12-07T09:00:00+00:00"),  # Saturday
])
def test_next_opening_of_a_weekday_window(after: str, opens: str) -> None:
    assert next_opening(WEEKDAYS, at(after)) == at(opens)


def test_next_opening_follows_the_zone_and_its_daylight_saving() -> None:
    dublin = Window("* * 9-16 ? * MON-FRI", "Europe/Dublin")
    # Friday 2027-10-29 after hours, summer time (UTC+1); Monday 2027-11-01 09:00 is winter time (UTC+0).
    assert next_opening(dublin, at("2027-10-29T16:00:00+00:00")) == at("2027-11-01T09:00:00+00:00")
    assert next_opening(dublin, at("2027-07-02T16:00:00+00:00")) == at("2027-07-05T08:00:00+00:00")
    india = Window("* 30 9 ? * *", "UTC+05:30")
    assert next_opening(india, at("2026-12-02T05:00:00+00:00")) == at("2026-12-03T04:00:00+00:00")


def test_next_opening_is_bounded_and_says_none_when_the_window_never_opens_again() -> None:
    assert next_opening(Window("* * * ? * * 2025"), at("2026-12-02T00:00:00+00:00")) is None
    # A yearly window found months ahead, within the search.
    yearly = Window("* * 9 1 JAN ?")
    assert next_opening(yearly, at("2026-02-01T00:00:00+00:00")) == at("2027-01-01T09:00:00+00:00")
    # ... but not beyond the days asked for.
    assert next_opening(Window("* * 9 1 JAN ?"), at("2026-02-01T00:00:00+00:00"), days=30) is None


def test_a_bad_window_is_refused_by_the_searches_too() -> None:
    with pytest.raises(WindowError, match="expected 6 or 7 fields"):
        next_opening(Window("* 9-16 * * MON-FRI"), at("2026-12-02T00:00:00+00:00"))
    with pytest.raises(WindowError, match="abbreviations are ambiguous"):
        longest_closed_gap(Window("* * * ? * *", "PST"), at("2026-12-02T00:00:00+00:00"))


def test_longest_closed_gap_of_a_weekday_window_is_the_weekend() -> None:
    gap = longest_closed_gap(WEEKDAYS, at("2026-12-02T00:00:00+00:00"))
    assert gap.length == dt.timedelta(hours=64)  # Friday 17:00 to Monday 09:00
    assert gap.closes.weekday() == 4 and gap.opens.weekday() == 0


def test_longest_closed_gap_counts_the_extra_hour_when_the_clocks_go_back() -> None:
    gap = longest_closed_gap(Window("* * 9-16 ? * MON-FRI", "Europe/Dublin"), at("2026-12-02T00:00:00+00:00"))
    assert gap.length == dt.timedelta(hours=65)
    assert gap == Gap(at("2027-10-29T16:00:00+00:00"), at("2027-11-01T09:00:00+00:00"))


@pytest.mark.parametrize(("cron", "longest"), [
    ("* * 9-16 ? * *", dt.timedelta(hours=16)),             # every day 09:00-16:59
    ("* * 0-5,20-23 ? * *", dt.timedelta(hours=14)),        # nights
    ("* 0/15 * ? * *", dt.timedelta(minutes=14)),           # one minute in every fifteen
    ("* * 2 ? * SUN", dt.timedelta(days=6, hours=23)),      # Sundays 02:00-02:59
])
def test_longest_closed_gap(cron: str, longest: dt.timedelta) -> None:
    assert longest_closed_gap(Window(cron), at("2026-12-02T00:00:00+00:00")).length == longest


def test_a_window_that_never_closes_has_no_gap_and_one_that_never_reopens_has_no_end() -> None:
    assert longest_closed_gap(Window("* * * ? * *"), at("2026-12-02T00:00:00+00:00")) is None
    gap = longest_closed_gap(Window("* * * ? * * 2025"), at("2026-12-02T00:00:00+00:00"))
    assert gap.opens is None and gap.length is None


def test_a_year_of_search_stays_cheap() -> None:
    # validate runs the gap search for each window in pipelines/config.yaml: keep it well under a second.
    began = time.perf_counter()
    longest_closed_gap(Window("* * 9-16 ? * MON-FRI", "Europe/Dublin"), at("2026-12-02T00:00:00+00:00"))
    longest_closed_gap(Window("* * * ? * *"), at("2026-12-02T00:00:00+00:00"))
    assert time.perf_counter() - began < 2.0


# ---- how many WaitForWindow actions a window needs (each waits at most 23 h 30 min) ----

@pytest.mark.parametrize(("cron", "zone", "actions"), [
    ("* * * ? * * *", "UTC", 1),             # always open
    ("* * 9-16 ? * *", "UTC", 1),            # daily: closed 16 hours
    ("* * 9-16 ? * MON-FRI", "Europe/Dublin", 3),  # closed Fri 17:00 to Mon 09:00: 64 hours
    ("* * 2 ? * SUN", "UTC", 8),             # weekly: 167 hours, seven waits and a bit
    ("* * 9-16 1 * ?", "UTC", 8),            # monthly: more than every wait together (capped)
    ("* * * ? * * 2025", "UTC", 8),          # never opens again: capped
])
def test_wait_actions_cover_the_longest_closed_stretch(cron: str, zone: str, actions: int) -> None:
    assert window.wait_actions(window.Window(cron, zone)) == actions


def test_wait_actions_do_not_depend_on_today() -> None:
    # measured from a fixed reference, so the generated template depends only on the configuration
    spec = window.Window("* * 9-16 ? * MON-FRI", "Europe/Dublin")
    window.reference_gap.cache_clear()
    assert window.reference_gap(spec).closes >= window.GAP_REFERENCE
    # the longest weekend is the one the clocks go back (2026-10-25): 65 hours
    assert window.reference_gap(spec).length == dt.timedelta(hours=65)
