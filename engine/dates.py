"""date, time, timestamp and timestamptz: PostgreSQL's internal integers and text forms.

Values are PostgreSQL's own representation, so keys (catalog.keycodec INT) and the
wire's binary format use them as they are:

- date: days since 2000-01-01; -infinity and infinity are the int32 extremes;
- timestamp, timestamptz: microseconds since 2000-01-01 00:00 (UTC for timestamptz);
  ±infinity are the int64 extremes;
- time: microseconds since midnight (24:00:00 allowed).

Input covers ISO 8601 dates and times (with ``T`` or a space), YYYYMMDD, month-first
dashed dates (DateStyle MDY), BC, numeric and named time zones, and the special
words (infinity, epoch, allballs, now, today, tomorrow, yesterday). Output is
DateStyle ISO. Other input styles (month names, slashes) are not read yet.
"""

from __future__ import annotations

import re
import time as _time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.errors import DataError
from engine.intervals import USECS_PER_DAY

POSTGRES_EPOCH_JDATE = 2451545  # 2000-01-01
DATE_NOBEGIN, DATE_NOEND = -(2**31), 2**31 - 1
TIMESTAMP_NOBEGIN, TIMESTAMP_NOEND = -(2**63), 2**63 - 1
_DATE_END_JULIAN = 2147483494  # 5874898-01-01
_MIN_TIMESTAMP = -211813488000000000  # 4714-11-24 00:00 BC
_END_TIMESTAMP = 9223371331200000000  # 294277-01-01 00:00
_MAX_TZ_SECONDS = 15 * 3600 + 59 * 60 + 59
_UNIX_EPOCH_DAYS = -10957  # 1970-01-01


def date2j(year: int, month: int, day: int) -> int:
    """Julian day number of a proleptic Gregorian date (year 0 is 1 BC), PostgreSQL's algorithm."""
    if month > 2:
        month += 1
        year += 4800
    else:
        month += 13
        year += 4799
    century = year // 100
    julian = year * 365 - 32167 + year // 4 - century + century // 4
    return julian + 7834 * month // 256 + day


def j2date(jd: int) -> tuple[int, int, int]:
    """(year, month, day) of a Julian day number (year 0 is 1 BC)."""
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365 if y else (julian + 306) % 366) + 123
    y += quad * 4
    quad = julian * 2141 // 65536
    return y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad // 256


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d*))?)?"
_ZONE = r"(?P<tz>[zZ]|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?|[A-Za-z][A-Za-z0-9_/+-]*)"
_DATETIME = re.compile(
    rf"[ \t\n\r]*(?P<date>\d{{8}}|\d+-\d+-\d+)(?:(?:[ \t]+|[Tt])(?:{_TIME}))?(?:[ \t]*{_ZONE})??(?:[ \t]+(?P<era>[Bb][Cc]|[Aa][Dd]))?[ \t\n\r]*\Z".replace(r"\d", "[0-9]")
)
_TIME_ONLY = re.compile(rf"[ \t\n\r]*{_TIME}(?:[ \t]*{_ZONE})?[ \t\n\r]*\Z".replace(r"\d", "[0-9]"))
_SPECIAL_DAYS = {"today": 0, "now": 0, "tomorrow": 1, "yesterday": -1}


def _syntax(type_name: str, text: str) -> DataError:
    return DataError(f'invalid input syntax for type {type_name}: "{text}"', sqlstate="22007")


def _field_overflow(text: str) -> DataError:
    return DataError(f'date/time field value out of range: "{text}"', sqlstate="22008")


def _two_digit_year(text: str, year: int) -> int:
    """PostgreSQL maps a two-digit year to the one nearest 2020: 70..99 -> 19xx, 00..69 -> 20xx."""
    if len(text) <= 2:
        return year + (1900 if year >= 70 else 2000)
    return year


def _ymd(text: str, field: str, era: str | None) -> tuple[int, int, int]:
    if "-" not in field:
        year, month, day = int(field[:4]), int(field[4:6]), int(field[6:8])
    else:
        a, b, c = field.split("-")
        if len(a) >= 3:
            year, month, day = int(a), int(b), int(c)
        else:  # DateStyle MDY: month-day-year
            month, day, year = int(a), int(b), _two_digit_year(c, int(c))
    if era is not None and era.lower() == "bc":
        if year <= 0:
            raise _field_overflow(text)
        year = 1 - year
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month) or year == 0 and (era is None or era.lower() != "bc"):
        raise _field_overflow(text)
    return year, month, day


def _time_usecs(match: re.Match[str], text: str) -> int:
    hour, minute = int(match["h"]), int(match["mi"])
    second = int(match["s"] or 0)
    fraction = round(float("0." + match["f"]) * 1_000_000) if match["f"] else 0
    usecs = ((hour * 60 + minute) * 60 + second) * 1_000_000 + fraction
    if minute > 59 or second > 60 or hour > 24 or usecs > USECS_PER_DAY:  # :60 rolls over, as in PostgreSQL
        raise _field_overflow(text)
    return usecs


def _zone_offset(zone: str, text: str, local: tuple[int, int, int, int] | None) -> int:
    """Seconds east of UTC of a zone spec; named zones need the local date-time to pick DST."""
    if zone in ("z", "Z"):
        return 0
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours = int(digits[:-4] if len(digits) > 4 else digits[:-2] if len(digits) > 2 else digits)
        rest = digits[-4:] if len(digits) > 4 else digits[-2:] if len(digits) > 2 else ""
        minutes = int(rest[:2]) if rest else 0
        seconds = int(rest[2:]) if len(rest) > 2 else 0
        offset = hours * 3600 + minutes * 60 + seconds
        if minutes > 59 or seconds > 59 or offset > _MAX_TZ_SECONDS:
            raise DataError(f'time zone displacement out of range: "{text}"', sqlstate="22009")
        return offset if zone[0] == "+" else -offset
    info = zone_info(zone)
    if local is None:
        return 0
    year, month, day, usecs = local
    year = min(max(year, 1), 9999)  # zoneinfo's range; zones before 1 AD or after 9999 use the edge rules
    when = datetime(year, month, day) + timedelta(microseconds=usecs)
    # a wall-clock time a jump back repeats takes the offset after the jump, one a jump forward skips the offset
    # before it, as PostgreSQL's DetermineTimeZoneOffset does: in both cases the smaller of the two
    offsets = [info.utcoffset(when.replace(fold=fold)) for fold in (0, 1)]
    return min(int(offset.total_seconds()) if offset is not None else 0 for offset in offsets)


_ZONE_NAMES: dict[str, str] = {}


def zone_info(zone: str) -> ZoneInfo:
    """A time zone by name, matched case-insensitively as PostgreSQL does."""
    if not _ZONE_NAMES:
        _ZONE_NAMES.update((name.lower(), name) for name in available_timezones())
        _ZONE_NAMES.update({"utc": "UTC", "gmt": "UTC", "z": "UTC"})
    name = _ZONE_NAMES.get(zone.lower())
    if name is None:
        raise DataError(f'time zone "{zone.lower()}" not recognized', sqlstate="22023")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f'time zone "{zone.lower()}" not recognized', sqlstate="22023") from None


def _special(word: str) -> str | None:
    word = word.strip(" \t\n\r").lower()
    return word if word in ("infinity", "+infinity", "-infinity", "epoch", *_SPECIAL_DAYS) else None


def _special_date(word: str, zone: str) -> int:
    """The day a special input word names (infinity, -infinity, epoch, today, now, tomorrow, yesterday) in ``zone``."""
    if word in ("infinity", "+infinity"):
        return DATE_NOEND
    if word == "-infinity":
        return DATE_NOBEGIN
    if word == "epoch":
        return _UNIX_EPOCH_DAYS
    return _local_now(zone) // USECS_PER_DAY + _SPECIAL_DAYS[word]


def parse_date(text: str, typmod: int = -1, zone: str = "UTC") -> int:
    """PostgreSQL's date input, as days since 2000-01-01; today is the day it is in the session's TimeZone (``zone``)."""
    special = _special(text)
    if special is not None:
        return _special_date(special, zone)
    match = _match(text, "date")
    year, month, day = _ymd(text, match["date"], match["era"])
    if match["h"] is not None:
        _time_usecs(match, text)
    return _julian_date(year, month, day, text)


def _match(text: str, type_name: str) -> re.Match[str]:
    match = _DATETIME.match(text)
    if match is None or match["tz"] in ("T", "t"):  # a T needs a time after it
        raise _syntax(type_name, text)
    return match


def _julian_date(year: int, month: int, day: int, text: str) -> int:
    jd = date2j(year, month, day)
    if not 0 <= jd < _DATE_END_JULIAN:
        raise DataError(f'date out of range: "{text}"', sqlstate="22008")
    return jd - POSTGRES_EPOCH_JDATE


# The ISO form every client and COPY writes: ``2026-01-01 12:34:56[.fraction][+hh[:mm]]``, read without the general
# parser. Anything else (and any field out of its range) takes the general path, which also reports the errors.
_EPOCH, _EPOCH_UTC, _ONE_USEC = datetime(2000, 1, 1), datetime(2000, 1, 1, tzinfo=timezone.utc), timedelta(microseconds=1)
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,6}))?(?:([+-])(0\d|1[0-5])(?::?([0-5]\d))?)?\Z")


def _iso_timestamp(text: str, with_zone: bool) -> int | None:
    """The common ISO form's value (UTC for timestamptz), or None for the general parser (no offset given to a
    timestamptz: the session's zone, whose offset depends on the date; an offset given to a timestamp; a day that
    does not exist; other forms). The pattern admits only what PostgreSQL reads the same way; datetime's C parser
    then does the arithmetic."""
    match = _ISO.match(text)
    if match is None or (match.lastindex >= 8) != with_zone:  # groups 8 to 10 are the offset
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (value - (_EPOCH_UTC if with_zone else _EPOCH)) // _ONE_USEC


def _parse_timestamp(text: str, with_zone: bool, zone: str) -> int:
    fast = _iso_timestamp(text, with_zone)
    return fast if fast is not None else _general_timestamp(text, with_zone, zone)


def _general_timestamp(text: str, with_zone: bool, zone: str) -> int:
    type_name = "timestamp with time zone" if with_zone else "timestamp"  # PostgreSQL's wording in errors
    special = _special(text)
    if special == "now":
        return (int(_time.time() * 1_000_000) + _UNIX_EPOCH_DAYS * USECS_PER_DAY) if with_zone else _local_now(zone)
    if special is not None:
        midnight = date_to_timestamp(_special_date(special, zone))  # of the day; infinities stay infinite
        return local_to_utc(midnight, zone) if with_zone and special in _SPECIAL_DAYS else midnight
    match = _match(text, type_name)
    year, month, day = _ymd(text, match["date"], match["era"])
    usecs = _time_usecs(match, text) if match["h"] is not None else 0
    value = (date2j(year, month, day) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + usecs
    if with_zone:
        offset = _zone_offset(match["tz"] or zone, text, (year, month, day, usecs))
        value -= offset * 1_000_000
    elif match["tz"] is not None:
        _zone_offset(match["tz"], text, None)  # checked, then ignored, as PostgreSQL does
    if not _MIN_TIMESTAMP <= value < _END_TIMESTAMP:
        raise DataError(f'timestamp out of range: "{text}"', sqlstate="22008")
    return value


def _local_now(zone: str) -> int:
    now = datetime.now(timezone(timedelta(seconds=_zone_offset(zone, zone, None))) if zone[0] in "+-" else zone_info(zone))
    days = date2j(now.year, now.month, now.day) - POSTGRES_EPOCH_JDATE
    return days * USECS_PER_DAY + ((now.hour * 60 + now.minute) * 60 + now.second) * 1_000_000 + now.microsecond


def parse_timestamp(text: str, typmod: int = -1, zone: str = "UTC") -> int:
    """timestamp input; now and today are the session's TimeZone's (``zone``) wall clock."""
    return _parse_timestamp(text, False, zone)


def parse_timestamptz(text: str, typmod: int = -1, zone: str = "UTC") -> int:
    """timestamptz input; a value without a zone is in the session's TimeZone (``zone``)."""
    return _parse_timestamp(text, True, zone)


def parse_time(text: str, typmod: int = -1) -> int:
    if text.strip(" \t\n\r").lower() == "allballs":
        return 0
    match = _TIME_ONLY.match(text)
    if match is None:
        raise _syntax("time", text)
    return _time_usecs(match, text)


# -- output --------------------------------------------------------------------------------


def _date_text(jd: int) -> tuple[str, bool]:
    year, month, day = j2date(jd)
    bc = year <= 0
    return f"{1 - year if bc else year:04d}-{month:02d}-{day:02d}", bc


def _clock(usecs: int) -> str:
    seconds, micro = divmod(usecs, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    return text + ("." + f"{micro:06d}".rstrip("0") if micro else "")


def format_date(value: int) -> str:
    if value == DATE_NOEND:
        return "infinity"
    if value == DATE_NOBEGIN:
        return "-infinity"
    text, bc = _date_text(value + POSTGRES_EPOCH_JDATE)
    return text + (" BC" if bc else "")


def format_time(value: int) -> str:
    return _clock(value)


def format_timestamp(value: int) -> str:
    if value == TIMESTAMP_NOEND:
        return "infinity"
    if value == TIMESTAMP_NOBEGIN:
        return "-infinity"
    days, usecs = divmod(value, USECS_PER_DAY)
    text, bc = _date_text(days + POSTGRES_EPOCH_JDATE)
    return f"{text} {_clock(usecs)}" + (" BC" if bc else "")


def format_timestamptz(value: int, zone: str = "UTC") -> str:
    """timestamptz output in the session's TimeZone, with its offset (+HH or +HH:MM)."""
    if value in (TIMESTAMP_NOEND, TIMESTAMP_NOBEGIN):
        return format_timestamp(value)
    offset = _offset_at(value, zone)
    local = value + offset * 1_000_000
    days, usecs = divmod(local, USECS_PER_DAY)
    text, bc = _date_text(days + POSTGRES_EPOCH_JDATE)
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    zone_text = f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes or seconds else "") + (f":{seconds:02d}" if seconds else "")
    return f"{text} {_clock(usecs)}{zone_text}" + (" BC" if bc else "")


def _offset_at(value: int, zone: str) -> int:
    """Seconds east of UTC in ``zone`` at the instant ``value``."""
    if zone.upper() in ("UTC", "GMT", "ETC/UTC"):
        return 0
    info = zone_info(zone)
    unix_seconds = value // 1_000_000 - _UNIX_EPOCH_DAYS * 86400
    # within datetime's years 1..9999, two days from each edge; beyond them a zone keeps its edge rule (LMT)
    unix_seconds = min(max(unix_seconds, -62135596800 + 2 * 86400), 253402300799 - 2 * 86400)
    offset = datetime.fromtimestamp(unix_seconds, timezone.utc).astimezone(info).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


# -- conversions between the types (casts) -------------------------------------------------


def date_to_timestamp(days: int) -> int:
    """Midnight of a date as a timestamp; infinities stay infinite."""
    if days == DATE_NOEND:
        return TIMESTAMP_NOEND
    if days == DATE_NOBEGIN:
        return TIMESTAMP_NOBEGIN
    value = days * USECS_PER_DAY
    if not _MIN_TIMESTAMP <= value < _END_TIMESTAMP:
        raise DataError("date out of range for timestamp", sqlstate="22008")
    return value


def timestamp_to_date(value: int) -> int:
    if value == TIMESTAMP_NOEND:
        return DATE_NOEND
    if value == TIMESTAMP_NOBEGIN:
        return DATE_NOBEGIN
    return value // USECS_PER_DAY  # floor, also before 2000


def timestamp_to_time(value: int) -> int | None:
    """The time of day of a timestamp; PostgreSQL gives NULL for an infinite one."""
    if value in (TIMESTAMP_NOEND, TIMESTAMP_NOBEGIN):
        return None
    return value % USECS_PER_DAY


def utc_to_local(value: int, zone: str) -> int:
    """A timestamptz as the wall-clock timestamp in ``zone``."""
    if value in (TIMESTAMP_NOEND, TIMESTAMP_NOBEGIN):
        return value
    return value + _offset_at(value, zone) * 1_000_000


def local_to_utc(value: int, zone: str) -> int:
    """A wall-clock timestamp in ``zone`` as a timestamptz."""
    if value in (TIMESTAMP_NOEND, TIMESTAMP_NOBEGIN):
        return value
    days, usecs = divmod(value, USECS_PER_DAY)
    year, month, day = j2date(days + POSTGRES_EPOCH_JDATE)
    return value - _zone_offset(zone, zone, (year, month, day, usecs)) * 1_000_000
