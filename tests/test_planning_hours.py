"""Opening hours over a real calendar week in Asia/Shanghai, with China's holidays and adjusted working days."""

import datetime as dt

import numpy as np
import pytest

from layers.planning import hours

QUIET = "22:00-06:00"
MARCH = hours.week_of(dt.date(2026, 3, 4))  # 2-8 March 2026, no holiday


def per_day(expression, week=MARCH):
    return hours.schedule(expression, week).reshape(7, hours.DAY).sum(axis=1).tolist()


def test_a_week_is_monday_to_sunday_in_shanghai():
    assert hours.week_of(dt.date(2026, 3, 8)).monday == dt.date(2026, 3, 2)
    late_sunday_utc = dt.datetime(2026, 3, 8, 17, 0, tzinfo=dt.UTC)  # Monday 01:00 in Shanghai
    assert hours.week_of(late_sunday_utc).monday == dt.date(2026, 3, 9)
    assert str(MARCH) == "2026-03-02/2026-03-08"


def test_a_window_past_midnight_wraps_around_the_week():
    quiet = hours.schedule(QUIET, MARCH)
    assert quiet.sum() == 7 * 8 * 60
    assert quiet[0] and quiet[6 * 60 - 1] and not quiet[6 * 60]  # Monday 00:00-06:00: Sunday night's
    assert quiet[-1]


def test_24_7_is_open_every_minute():
    assert hours.schedule("24/7", MARCH).all()


def test_open_into_quiet_hours_past_midnight_is_described_by_its_clock_times():
    found = hours.overlap(hours.schedule("Mo-Su 18:00-02:00", MARCH), hours.schedule(QUIET, MARCH))
    assert found.minutes == 7 * 240
    assert found.describe() == ("营业至次日 02:00", "open until 02:00 the next day")
    assert found.close_by == "22:00" and found.open_after is None


def test_no_overlap_is_falsy():
    assert not hours.overlap(hours.schedule("Mo-Su 10:00-22:00", MARCH), hours.schedule(QUIET, MARCH))


def test_public_holidays_are_the_whole_break_from_the_chinese_calendar():
    national_day = hours.week_of(dt.date(2026, 10, 1))  # Mon 28 Sep - Sun 4 Oct
    kinds = [d["kind"] for d in hours.describe_week(national_day)]
    assert kinds == ["workday", "workday", "workday", "holiday", "holiday", "holiday", "holiday"]
    # opening-hours-py alone knows only 1 October as a Chinese holiday; the calendar knows 1-7 October
    assert per_day("Mo-Su 10:00-20:00; PH off", national_day) == [600, 600, 600, 0, 0, 0, 0]



def test_on_a_holiday_hours_without_ph_follow_the_weekday():
    national_day = hours.week_of(dt.date(2026, 10, 1))  # Thu 1 - Sun 4 Oct are holidays
    assert per_day("Sa,Su 10:00-23:00", national_day) == [0, 0, 0, 0, 0, 780, 780]
    assert per_day("Mo-Fr 10:00-12:00; PH 18:00-20:00", national_day) == [120, 120, 120, 120, 120, 120, 120]


def test_an_adjusted_working_day_counts_as_a_working_day():
    spring = hours.week_of(dt.date(2026, 2, 25))  # Mon 23 Feb (holiday) … Sat 28 Feb (worked, 调休)
    assert hours.day_kind(dt.date(2026, 2, 28)) == ("adjusted_workday", "Spring Festival")
    assert per_day("Mo-Fr 07:30-17:30; PH off", spring) == [0, 600, 600, 600, 600, 600, 0]


def test_unknown_counts_as_open():
    assert per_day("Mo-Su 20:00-21:00 unknown")[0] == 60
    assert per_day('Mo-Su 10:00-12:00 "by appointment", Mo-Su 20:00-21:00 unknown')[0] == 180


def test_unparsable_hours_raise_a_bilingual_error():
    with pytest.raises(hours.HoursError, match="不是 OSM 营业时间格式.*· .*not an OSM opening_hours"):
        hours.schedule("Mo-Fr 25:99", MARCH)
    assert hours.check("每天晚上") and hours.check("Mo-Su 10:00-22:00") is None


def test_a_year_the_calendar_does_not_cover_is_said_so_where_holidays_matter():
    later = hours.week_of(dt.date(2040, 6, 6))
    with pytest.raises(hours.CalendarError, match="2040"):
        hours.schedule("Mo-Fr 07:30-17:30; PH off", later)
    with pytest.raises(hours.CalendarError, match="2040"):
        hours.schedule("Mo-Fr 09:00-17:00", later)  # a 调休 Saturday could be a working day
    assert [d["kind"] for d in hours.describe_week(later)] == ["unknown"] * 7


def test_hours_the_same_on_every_kind_of_day_need_no_calendar():
    later = hours.week_of(dt.date(2040, 6, 6))
    for expression, per_day in (("22:00-06:00", 8 * 60), ("24/7", 1440), ("Mo-Su 10:00-23:30", 13 * 60 + 30)):
        assert hours.schedule(expression, later).reshape(7, hours.DAY).sum(axis=1).tolist()[1:] == [per_day] * 6


def test_schedules_are_cached_and_read_only():
    first = hours.schedule("Mo-Su 10:00-23:00", MARCH)
    assert first is hours.schedule("Mo-Su 10:00-23:00", MARCH)
    with pytest.raises(ValueError):
        first[0] = True
    assert isinstance(first, np.ndarray)
