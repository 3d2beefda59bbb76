"""Dates and timestamps as exports write them.

Timestamps are returned as **naive datetimes in China Standard Time (UTC+8)**: exports without an
offset (the branch system, the call center) already write Beijing wall-clock time, so converting
the few offset-carrying values (app ISO timestamps, epoch numbers) to that time keeps every
source comparable and keeps calendar days right (a 23:30 Beijing trade stays on its day).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from mdm.standardize.text import nfkc, to_text

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
_EXCEL_SERIAL_MAX = 80_000  # 2119-01-10; larger numbers are not spreadsheet dates
# Text serials need five digits: four-digit strings are years, shorter ones are codes.
_EXCEL_TEXT_SERIAL = re.compile(r"[1-7]\d{4}(?:\.\d+)?")
_YMD = re.compile(
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[T\s]*(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})\s*分?"
    r"(?:\s*:?\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2}))?")
_EPOCH_DIGITS = re.compile(r"\d{10}|\d{13}")
_YEAR_ONLY = re.compile(r"(\d{4})\s*年?")
_YEAR_MIN, _YEAR_MAX = 1900, 2100
_NUMERIC_YYYYMMDD = (19000101, 21001231)
_EPOCH_SECONDS = (1e9, 1e10)  # 2001-09-09 .. 2286-11-20
_EPOCH_MILLISECONDS = (1e12, 1e13)


def parse_date(value: Any, fmt: str | None = None) -> dt.date | None:
    """A calendar date from YYYYMMDD, YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYY年M月D日, ISO
    datetimes (with an offset: the day in China time), Excel serial numbers, date/datetime
    objects and full-width digits. ``fmt`` (a strptime pattern from the channel's ``formats:``)
    is tried first. Time parts are dropped. None when nothing fits."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value if _YEAR_MIN <= value.year <= _YEAR_MAX else None
    moment = parse_datetime(value, fmt)
    return None if moment is None else moment.date()


def parse_datetime(value: Any, fmt: str | None = None) -> dt.datetime | None:
    """A naive China-time datetime from the forms of ``parse_date`` plus times
    (``2024-04-02 10:30``, ``2024年4月2日 10时30分``, ``20240402103000``), ISO timestamps
    with Z/offsets, Excel serials with a time fraction and Unix epoch seconds/milliseconds.
    Years outside 1900..2100 (9999-12-31 "until further notice", 0001-01-01) give None: they
    are placeholders, not dates, and pandas cannot hold them as nanosecond timestamps."""
    moment = _parse_datetime(value, fmt)
    return moment if moment is None or _YEAR_MIN <= moment.year <= _YEAR_MAX else None


def _parse_datetime(value: Any, fmt: str | None) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return None if _is_nat(value) else _to_china_naive(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    number = _as_number(value)
    if number is not None:
        return _datetime_from_number(number)
    text = to_text(value)
    return None if text is None else _datetime_from_text(nfkc(text).strip(), fmt)


def parse_year_only(value: Any) -> int | None:
    """The year of a year-only value (1985, "1985", "1985年"), 1900..2100; None otherwise."""
    number = _as_number(value)
    if number is not None:
        year = int(number) if number.is_integer() else 0
    else:
        text = to_text(value)
        match = None if text is None else _YEAR_ONLY.fullmatch(nfkc(text).strip())
        year = int(match.group(1)) if match else 0
    return year if _YEAR_MIN <= year <= _YEAR_MAX else None


def parse_birth_year(value: Any) -> int | None:
    """Birth year from a year-only value or from a full date."""
    year = parse_year_only(value)
    if year is not None:
        return year
    date = parse_date(value)
    return None if date is None else date.year


def _datetime_from_text(text: str, fmt: str | None) -> dt.datetime | None:
    if fmt is not None:
        try:
            return _to_china_naive(dt.datetime.strptime(text, fmt))
        except ValueError:
            pass  # the unambiguous forms below cannot be misread, so they may still apply
    try:
        return _to_china_naive(dt.datetime.fromisoformat(text))
    except ValueError:
        pass
    match = _YMD.fullmatch(text)
    if match:
        return _build(match.group("y", "m", "d", "H", "M", "S"))
    match = _COMPACT.fullmatch(text)
    if match:
        return _build(match.groups())
    if _EXCEL_TEXT_SERIAL.fullmatch(text) or _EPOCH_DIGITS.fullmatch(text):
        return _datetime_from_number(float(text))
    return None


def _datetime_from_number(number: float) -> dt.datetime | None:
    if _EPOCH_SECONDS[0] <= number < _EPOCH_SECONDS[1]:
        return _to_china_naive(dt.datetime.fromtimestamp(number, dt.UTC))
    if _EPOCH_MILLISECONDS[0] <= number < _EPOCH_MILLISECONDS[1]:
        return _to_china_naive(dt.datetime.fromtimestamp(number / 1000, dt.UTC))
    if number.is_integer() and _NUMERIC_YYYYMMDD[0] <= number <= _NUMERIC_YYYYMMDD[1]:
        # A YYYYMMDD column that the spreadsheet typed as a number.
        match = _COMPACT.fullmatch(str(int(number)))
        return None if match is None else _build(match.groups())
    if 1 <= number <= _EXCEL_SERIAL_MAX:
        return _EXCEL_EPOCH + dt.timedelta(days=number)
    return None


def _build(parts: tuple[str | None, ...]) -> dt.datetime | None:
    """A datetime from (year, month, day, hour, minute, second) digits; absent times are 0."""
    year, month, day, hour, minute, second = (int(part or 0) for part in parts)
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _to_china_naive(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(CHINA_TZ).replace(tzinfo=None)


def _as_number(value: Any) -> float | None:
    # bool is an int but never a date; numpy and Decimal scalars convert through float().
    if value is None or isinstance(value, (bool, str, dt.date)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _is_nat(value: dt.datetime) -> bool:
    return value != value  # pd.NaT is a datetime subclass that is unequal to itself
