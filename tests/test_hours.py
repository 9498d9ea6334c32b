"""Opening hours in OSM syntax: validity, and whether a station is open at a given time."""

from datetime import UTC, datetime

import pytest

from geo.hours import hours_error, hours_status, hours_text, open_state

WEDNESDAY_NOON = datetime(2024, 5, 15, 12, 0)
WEDNESDAY_EVENING = datetime(2024, 5, 15, 19, 0)
SUNDAY_NOON = datetime(2024, 5, 19, 12, 0)
NATIONAL_DAY_NOON = datetime(2024, 10, 1, 12, 0)
ORDINARY_OCTOBER_NOON = datetime(2024, 10, 9, 12, 0)


@pytest.mark.parametrize("when", [WEDNESDAY_NOON, SUNDAY_NOON, datetime(2024, 2, 10, 3, 0)])
def test_24_7_is_always_open(when):
    assert open_state("24/7", when) == "open"


def test_weekday_hours_are_open_on_wednesday_noon_and_closed_on_sunday_and_in_the_evening():
    hours = "Mo-Fr 08:00-18:00"
    assert open_state(hours, WEDNESDAY_NOON) == "open"
    assert open_state(hours, WEDNESDAY_EVENING) == "closed"
    assert open_state(hours, SUNDAY_NOON) == "closed"


def test_naive_times_are_china_time_and_aware_times_are_converted_to_it():
    hours = "Mo-Fr 08:00-18:00"
    assert open_state(hours, datetime(2024, 5, 15, 4, 0)) == "closed"
    assert open_state(hours, datetime(2024, 5, 15, 4, 0, tzinfo=UTC)) == "open"
    assert open_state(hours, datetime(2024, 5, 15, 12, 0, tzinfo=UTC)) == "closed"


def test_ph_off_closes_on_chinese_public_holidays_only():
    hours = "Mo-Su 07:00-21:00; PH off"
    assert hours_error(hours) is None
    assert open_state(hours, NATIONAL_DAY_NOON) == "closed"
    assert open_state(hours, ORDINARY_OCTOBER_NOON) == "open"
    assert open_state(hours, ORDINARY_OCTOBER_NOON.replace(hour=22)) == "closed"


def test_an_invalid_expression_gets_a_one_line_message_and_unknown_state():
    message = hours_error("Mo-Fr 8-18")
    assert message is not None
    assert "\n" not in message
    assert "character 7" in message
    assert open_state("Mo-Fr 8-18", WEDNESDAY_NOON) == "unknown"


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_hours_are_valid_but_unknown(empty):
    assert hours_error(empty) is None
    assert open_state(empty, WEDNESDAY_NOON) == "unknown"


def test_hours_that_say_unknown_give_unknown():
    assert open_state("24/7 unknown", WEDNESDAY_NOON) == "unknown"


def test_valid_hours_have_no_error():
    assert hours_error("24/7") is None
    assert hours_error("Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00") is None


# --- hours told in words ----------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "zh", "en"), [
    ("Mo-Fr 09:00-17:00", "周一至周五 09:00–17:00", "Mon–Fri 09:00–17:00"),
    ("24/7", "24 小时", "24 hours"),
    ("Mo-Su 07:00-21:00; PH off", "周一至周日 07:00–21:00；法定节假日休息",
     "Mon–Sun 07:00–21:00; closed on public holidays"),
    ("Mo,We 08:00-12:00,14:00-18:00; Sa off", "周一、周三 08:00–12:00、14:00–18:00；周六 休息",
     "Mon, Wed 08:00–12:00, 14:00–18:00; Sat closed"),
])
def test_hours_are_told_in_the_pages_language(expr, zh, en):
    assert hours_text(expr, "zh") == zh
    assert hours_text(expr, "en") == en


def test_hours_that_do_not_parse_are_told_as_written_and_empty_ones_as_nothing():
    assert hours_text("Mo-Fr 8-18", "zh") == "Mo-Fr 8-18"
    assert hours_text("  ", "en") == ""


@pytest.mark.parametrize(("hours", "when", "zh", "en"), [
    ("Mo-Fr 09:00-17:00", WEDNESDAY_NOON, "营业至 17:00", "open until 17:00"),
    ("Mo-Fr 08:30-17:00", WEDNESDAY_EVENING, "明天 08:30 开门", "opens 08:30 tomorrow"),
    ("Mo-Fr 08:30-17:00", WEDNESDAY_NOON.replace(hour=7), "08:30 开门", "opens at 08:30"),
    ("Mo-Fr 08:30-17:00", SUNDAY_NOON.replace(day=18), "周一 08:30 开门", "opens Mon 08:30"),
    ("24/7", SUNDAY_NOON, "24 小时营业", "open 24 hours"),
    ("off", SUNDAY_NOON, "已停止开放", "closed"),
    ("", SUNDAY_NOON, "营业时间未知", "hours unknown"),
])
def test_the_state_says_until_when_a_place_is_open_or_when_it_opens(hours, when, zh, en):
    assert hours_status(hours, when, "zh") == zh
    assert hours_status(hours, when, "en") == en
