"""rate()/cron() parsing and next-fire times on fixed dates (EventBridge User Guide, "Using cron
and rate expressions to schedule rules")."""
from __future__ import annotations

import datetime as dt

import pytest

from lakekit.local.events.schedule import INVALID_MESSAGE, Cron, InvalidSchedule, Rate, parse


def utc(*a: int) -> dt.datetime:
    return dt.datetime(*a, tzinfo=dt.UTC)


def fires(expr: str, start: dt.datetime, n: int) -> list[dt.datetime]:
    s = parse(expr)
    out, t = [], start
    for _ in range(n):
        t = s.next_after(t)
        out.append(t)
    return out


def test_rate_units_and_grid():
    assert parse("rate(1 minute)") == Rate("rate(1 minute)", 60)
    assert parse("rate(5 minutes)").seconds == 300
    assert parse("rate(2 hours)").seconds == 7200
    assert parse("rate(1 day)").seconds == 86400
    r = parse("rate(5 minutes)")
    anchor = utc(2024, 1, 1, 12, 0, 30)
    assert r.next_after(anchor, anchor) == utc(2024, 1, 1, 12, 5, 30)       # one period after
    assert r.next_after(utc(2024, 1, 1, 12, 7), anchor) == utc(2024, 1, 1, 12, 10, 30)
    assert r.next_after(utc(2024, 1, 1, 12, 10, 30), anchor) == utc(2024, 1, 1, 12, 15, 30)


@pytest.mark.parametrize("expr", [
    "rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(5 seconds)", "rate(-1 hours)",
    "cron(0 10 * * *)",                 # 5 fields
    "cron(0 10 * * * *)",               # * in both day fields
    "cron(0 10 ? * ? *)",               # ? in both
    "cron(60 10 * * ? *)", "cron(0 24 * * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 ? 13 * *)",
    "cron(0 0 ? * 8 *)", "cron(0 0 * * ? 1969)",
    "cron(0 0 ? * 3#1,6#3 *)",          # the documented invalid '#' list
    "cron(0 0 ? * 3#6 *)", "cron(*/0 * * * ? *)", "every 5 minutes", "",
])
def test_invalid_expressions_are_refused_with_aws_message(expr):
    with pytest.raises(InvalidSchedule) as err:
        parse(expr)
    assert str(err.value).startswith(INVALID_MESSAGE)


def test_cron_documented_examples():
    # 10:15 every day
    assert fires("cron(15 10 * * ? *)", utc(2024, 5, 1, 10, 15), 2) == [
        utc(2024, 5, 2, 10, 15), utc(2024, 5, 3, 10, 15)]
    # 18:00 Monday to Friday (2024-03-01 is a Friday)
    assert fires("cron(0 18 ? * MON-FRI *)", utc(2024, 3, 1, 18, 0), 2) == [
        utc(2024, 3, 4, 18, 0), utc(2024, 3, 5, 18, 0)]
    # 08:00 on the first day of the month
    assert fires("cron(0 8 1 * ? *)", utc(2024, 1, 15), 2) == [utc(2024, 2, 1, 8), utc(2024, 3, 1, 8)]
    # every 10 minutes on weekdays
    assert fires("cron(0/10 * ? * MON-FRI *)", utc(2024, 3, 1, 23, 45), 3) == [
        utc(2024, 3, 1, 23, 50), utc(2024, 3, 4, 0, 0), utc(2024, 3, 4, 0, 10)]
    # every 5 minutes between 08:00 and 17:55 on weekdays
    assert fires("cron(0/5 8-17 ? * MON-FRI *)", utc(2024, 3, 1, 17, 54), 2) == [
        utc(2024, 3, 1, 17, 55), utc(2024, 3, 4, 8, 0)]
    # 09:00 on the first Monday of each month
    assert fires("cron(0 9 ? * 2#1 *)", utc(2024, 1, 1, 9, 0), 3) == [
        utc(2024, 2, 5, 9), utc(2024, 3, 4, 9), utc(2024, 4, 1, 9)]


def test_cron_last_day_weekday_and_last_weekday_of_month():
    assert fires("cron(0 0 L * ? *)", utc(2024, 1, 31, 0, 0), 3) == [
        utc(2024, 2, 29), utc(2024, 3, 31), utc(2024, 4, 30)]     # leap year February
    # LW: last weekday; 2024-03-31 is a Sunday -> Friday 29th; 2024-06-30 Sunday -> 28th
    assert fires("cron(0 0 LW * ? *)", utc(2024, 3, 1), 1) == [utc(2024, 3, 29)]
    assert fires("cron(0 0 LW 6 ? 2024)", utc(2024, 1, 1), 1) == [utc(2024, 6, 28)]
    # 15W: 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 is a Sunday -> Monday 16th
    assert fires("cron(0 12 15W 6 ? 2024)", utc(2024, 1, 1), 1) == [utc(2024, 6, 14, 12)]
    assert fires("cron(0 12 15W 9 ? 2024)", utc(2024, 1, 1), 1) == [utc(2024, 9, 16, 12)]
    # 1W when the 1st is a Saturday (2024-06-01) -> Monday the 3rd, never the month before
    assert fires("cron(0 12 1W 6 ? 2024)", utc(2024, 1, 1), 1) == [utc(2024, 6, 3, 12)]
    # 6L: last Friday of the month
    assert fires("cron(0 0 ? * 6L *)", utc(2024, 1, 1), 3) == [
        utc(2024, 1, 26), utc(2024, 2, 23), utc(2024, 3, 29)]
    # L in day-of-week alone: Saturday (7)
    assert fires("cron(0 0 ? * L *)", utc(2024, 3, 1), 1) == [utc(2024, 3, 2)]


def test_cron_years_months_lists_and_names():
    assert fires("cron(30 6 ? JAN,JUL SUN 2025-2026)", utc(2024, 12, 31), 2) == [
        utc(2025, 1, 5, 6, 30), utc(2025, 1, 12, 6, 30)]
    assert fires("cron(0 0 29 2 ? *)", utc(2024, 3, 1), 1) == [utc(2028, 2, 29)]
    assert parse("cron(0 0 1 1 ? 2030)").next_after(utc(2029, 6, 1)) == utc(2030, 1, 1)
    with pytest.raises(InvalidSchedule):
        parse("cron(0 0 1 1 ? 2030)").next_after(utc(2031, 1, 1))   # never again
    assert isinstance(parse("cron(0 0 1 1 ? 2030)"), Cron)


def test_cron_times_are_utc_and_strictly_after():
    s = parse("cron(0 10 * * ? *)")
    local = dt.datetime(2024, 5, 1, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 09:30 UTC
    assert s.next_after(local) == utc(2024, 5, 1, 10, 0)
    assert s.next_after(utc(2024, 5, 1, 10, 0, 0)) == utc(2024, 5, 2, 10, 0)
