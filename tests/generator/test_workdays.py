"""WorkdayCalendar: chinese-calendar facts for 2025/2026 plus the operator file.

The dates asserted here are the State Council schedules as the chinese-calendar
package (1.11) records them; the 2027 schedules below are fictional and exist
only inside these tests.
"""
import json
from datetime import date, datetime

import pytest

from services.generator.workdays import CalendarUnavailable, WorkdayCalendar


@pytest.fixture
def cal():
    return WorkdayCalendar(None)


def write(tmp_path, doc, name="calendar.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


# --- package data -------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (date(2026, 3, 7), False),    # ordinary Saturday
    (date(2026, 3, 8), False),    # ordinary Sunday
    (date(2026, 3, 9), True),     # ordinary Monday
    (date(2026, 10, 10), True),   # Saturday, 调休 workday after National Day
    (date(2026, 10, 11), False),  # the Sunday after it
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 7), False),   # last day of the National Day break (Wednesday)
    (date(2026, 10, 8), True),    # back to work
    (date(2026, 9, 20), True),    # Sunday, 调休 workday before National Day
    (date(2026, 2, 14), True),    # Saturday, 调休 workday before Spring Festival
    (date(2026, 2, 16), False),   # Spring Festival (Monday)
    (date(2026, 2, 23), False),   # Spring Festival break's last day (Monday)
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),    # Saturday, 调休 workday after Spring Festival
    (date(2025, 1, 26), True),    # Sunday, 调休 workday before Spring Festival 2025
    (date(2025, 1, 28), False),   # 2025 Spring Festival's eve (Tuesday)
    (date(2025, 2, 4), False),    # 2025 Spring Festival break's last day (Tuesday)
    (date(2025, 2, 8), True),     # Saturday, 调休 workday
    (date(2025, 10, 8), False),   # 2025 National Day break (Wednesday)
    (date(2025, 10, 11), True),   # Saturday, 调休 workday
    (date(2026, 1, 1), False),    # New Year's Day (Thursday)
    (date(2026, 1, 2), False),    # New Year break (Friday)
    (date(2026, 1, 4), True),     # Sunday, 调休 workday
])
def test_package_schedule(cal, day, expected):
    assert cal.is_workday(day) is expected


def test_accepts_datetime(cal):
    assert cal.is_workday(datetime(2026, 10, 10, 9, 30)) is True


def test_twenty_working_days_across_national_day(cal):
    # NOTES.md: 20 working days after 2026-09-28 is 2026-10-30.
    assert cal.add_workdays(date(2026, 9, 28), 20) == date(2026, 10, 30)


def test_add_workdays_counts_tiaoxiu_saturday_and_skips_spring_festival(cal):
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)   # Saturday workday
    assert cal.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)   # whole break skipped
    assert cal.add_workdays(date(2026, 2, 12), 5) == date(2026, 2, 26)


def test_add_workdays_start_not_counted_and_zero(cal):
    assert cal.add_workdays(date(2026, 3, 9), 1) == date(2026, 3, 10)
    assert cal.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)      # Friday → Monday
    assert cal.add_workdays(date(2026, 3, 9), 0) == date(2026, 3, 9)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2026, 3, 9), -1)


def test_year_boundary_2025_to_2026(cal):
    # 2026-01-01..03 are off; Sunday 2026-01-04 is a 调休 workday.
    assert cal.add_workdays(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert cal.add_workdays(date(2025, 12, 31), 2) == date(2026, 1, 5)


def test_unknown_year_raises_with_year(cal):
    with pytest.raises(CalendarUnavailable) as exc:
        cal.is_workday(date(2027, 1, 4))
    assert exc.value.year == 2027
    with pytest.raises(CalendarUnavailable) as exc:
        cal.is_workday(date(2003, 6, 2))
    assert exc.value.year == 2003


def test_period_running_into_unknown_year_is_refused(cal):
    assert cal.add_workdays(date(2026, 12, 30), 1) == date(2026, 12, 31)
    with pytest.raises(CalendarUnavailable) as exc:
        cal.add_workdays(date(2026, 12, 30), 2)
    assert exc.value.year == 2027


def test_known_years_from_package(cal):
    years = cal.known_years()
    assert years[0] == 2004 and years[-1] == 2026
    assert 2027 not in years


def test_shipped_example_file_loads_and_adds_nothing():
    from pathlib import Path
    import services.generator.workdays as mod

    example = Path(mod.__file__).parent / "data" / "calendar.example.json"
    doc = json.loads(example.read_text(encoding="utf-8"))
    assert doc["years"] == {}
    assert WorkdayCalendar(example).known_years() == WorkdayCalendar(None).known_years()


# --- operator file --------------------------------------------------------------

FICTIONAL_2027 = {
    "years": {
        "2027": {
            # Fictional test schedule: Friday 2027-01-01 off, Saturday 2027-01-09 worked.
            "holidays": ["2027-01-01"],
            "workdays": ["2027-01-09"],
        }
    }
}


def test_operator_file_adds_a_year(tmp_path):
    cal = WorkdayCalendar(write(tmp_path, FICTIONAL_2027))
    assert 2027 in cal.known_years()
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 1, 2)) is False      # ordinary Saturday
    assert cal.is_workday(date(2027, 1, 9)) is True       # listed 调休 Saturday
    assert cal.is_workday(date(2027, 1, 4)) is True
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.add_workdays(date(2026, 12, 31), 6) == date(2027, 1, 9)
    # the package still answers for 2026
    assert cal.is_workday(date(2026, 10, 10)) is True
    with pytest.raises(CalendarUnavailable) as exc:
        cal.is_workday(date(2028, 1, 3))
    assert exc.value.year == 2028


def test_operator_file_replaces_package_year(tmp_path):
    cal = WorkdayCalendar(write(tmp_path, {"years": {"2026": {"holidays": ["2026-03-02"], "workdays": []}}}))
    assert cal.is_workday(date(2026, 3, 2)) is False
    assert cal.is_workday(date(2026, 10, 1)) is True      # package's National Day no longer applies
    assert cal.is_workday(date(2026, 10, 10)) is False    # nor its 调休 Saturday
    assert cal.is_workday(date(2025, 10, 11)) is True     # other years untouched


def test_comment_keys_are_ignored(tmp_path):
    doc = {"_comment": "说明", "years": {"2027": {"_note": "x", "holidays": ["2027-01-01"], "workdays": []}}}
    assert WorkdayCalendar(write(tmp_path, doc)).is_workday(date(2027, 1, 1)) is False


@pytest.mark.parametrize("doc, where", [
    ("{not json", "invalid JSON"),
    ([], "top level"),
    ({}, "years"),
    ({"years": [], }, "years"),
    ({"yeras": {}}, "yeras"),
    ({"years": {"27": {"holidays": ["2027-01-01"], "workdays": []}}}, "years/27"),
    ({"years": {"2027": {"holidays": ["2027-02-30"], "workdays": []}}}, "years/2027/holidays/0"),
    ({"years": {"2027": {"holidays": ["2027-01-01", "2027/10/01"], "workdays": []}}}, "years/2027/holidays/1"),
    ({"years": {"2027": {"holidays": ["20270101"], "workdays": []}}}, "years/2027/holidays/0"),
    ({"years": {"2027": {"holidays": ["2028-01-03"], "workdays": []}}}, "years/2027/holidays/0"),
    ({"years": {"2027": {"holidays": [20270101], "workdays": []}}}, "years/2027/holidays/0"),
    ({"years": {"2027": {"holidays": ["2027-01-01"]}}}, "years/2027/workdays"),
    ({"years": {"2027": {"holidays": [], "workdays": []}}}, "years/2027/holidays"),
    ({"years": {"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-04"]}}}, "years/2027/workdays/0"),
    ({"years": {"2027": {"holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}}}, "years/2027"),
    ({"years": {"2027": {"holiday": ["2027-01-01"], "workdays": []}}}, "years/2027/holiday"),
])
def test_invalid_file_fails_fast_naming_file_and_entry(tmp_path, doc, where):
    path = write(tmp_path, doc)
    with pytest.raises(ValueError) as exc:
        WorkdayCalendar(path)
    assert str(path) in str(exc.value)
    assert where in str(exc.value)


def test_missing_file_fails_fast(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(ValueError) as exc:
        WorkdayCalendar(path)
    assert str(path) in str(exc.value)
