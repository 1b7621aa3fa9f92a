"""interval: PostgreSQL's (months, days, microseconds) with its text input and IntervalStyle postgres output.

Input reads PostgreSQL's verbose form (``1 year 2 mons -3 days 04:05:06.7``, ``@``,
``ago``, abbreviated and glued units, fractional units cascading into smaller ones),
ISO 8601 (``P1Y2M3DT4H5M6S``) and SQL's ``Y-M``, ``D H:M:S``; fractional parts are
rounded as PostgreSQL 15 rounds them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from engine.errors import DataError

USECS_PER_SEC = 1_000_000
USECS_PER_MINUTE = 60 * USECS_PER_SEC
USECS_PER_HOUR = 60 * USECS_PER_MINUTE
USECS_PER_DAY = 24 * USECS_PER_HOUR
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class Interval(NamedTuple):
    """An interval as PostgreSQL stores it; months and days are not converted into time."""

    months: int
    days: int
    micros: int


_UNITS = {
    **dict.fromkeys(("microsecond", "microseconds", "us", "usec", "usecs", "useconds"), "us"),
    **dict.fromkeys(("millisecond", "milliseconds", "ms", "msec", "msecs", "mseconds"), "ms"),
    **dict.fromkeys(("second", "seconds", "s", "sec", "secs"), "s"),
    **dict.fromkeys(("minute", "minutes", "m", "min", "mins"), "min"),
    **dict.fromkeys(("hour", "hours", "h", "hr", "hrs"), "h"),
    **dict.fromkeys(("day", "days", "d"), "d"),
    **dict.fromkeys(("week", "weeks", "w"), "w"),
    **dict.fromkeys(("month", "months", "mon", "mons"), "mon"),
    **dict.fromkeys(("year", "years", "y", "yr", "yrs"), "y"),
    **dict.fromkeys(("decade", "decades"), "decade"),
    **dict.fromkeys(("century", "centuries"), "century"),
    **dict.fromkeys(("millennium", "millennia", "millenniums"), "millennium"),
}
_MICROS = {"us": 1, "ms": 1000, "s": USECS_PER_SEC, "min": USECS_PER_MINUTE, "h": USECS_PER_HOUR}
_YEARS = {"y": 1, "decade": 10, "century": 100, "millennium": 1000}

_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?\Z")
_GLUED = re.compile(r"([+-]?[0-9]*\.?[0-9]+)([a-z]+)\Z")
_CLOCK = re.compile(r"([+-]?)([0-9]+):([0-9]+)(?::([0-9]+)(?:\.([0-9]*))?)?\Z")
_YEAR_MONTH = re.compile(r"([+-]?)([0-9]+)-([0-9]+)\Z")
_ISO = re.compile(r"P(?:([-+0-9.]+)Y)?(?:([-+0-9.]+)M)?(?:([-+0-9.]+)W)?(?:([-+0-9.]+)D)?(?:T(?:([-+0-9.]+)H)?(?:([-+0-9.]+)M)?(?:([-+0-9.]+)S)?)?\Z")


class _Fields:
    """Accumulates parsed parts with PostgreSQL's fraction rules (AdjustFract*)."""

    def __init__(self) -> None:
        self.months = 0
        self.days = 0
        self.micros = 0

    def add_micros(self, whole: int, fraction: float, scale: int) -> None:
        self.micros += whole * scale
        if fraction:
            value = fraction * scale
            usec = int(value)
            rest = value - usec
            self.micros += usec + (1 if rest > 0.5 else -1 if rest < -0.5 else 0)

    def add_days(self, whole: int, fraction: float, scale: int = 1) -> None:
        self.days += whole * scale
        if fraction:
            value = fraction * scale
            extra = int(value)
            self.days += extra
            self.add_micros(0, value - extra, USECS_PER_DAY)

    def add(self, unit: str, whole: int, fraction: float) -> None:
        if unit in _MICROS:
            self.add_micros(whole, fraction, _MICROS[unit])
        elif unit == "d":
            self.add_days(whole, fraction)
        elif unit == "w":
            self.add_days(whole, fraction, 7)
        elif unit == "mon":
            self.months += whole
            self.add_days(0, fraction, 30)
        else:
            scale = _YEARS[unit]
            self.months += whole * scale * 12 + round(fraction * scale * 12)


def _split_number(text: str) -> tuple[int, float] | None:
    """(integer part, signed fraction) of a decimal number, as PostgreSQL reads it."""
    match = _NUMBER.match(text)
    if match is None or not (match[2] or match[3]):
        return None
    sign = -1 if match[1] == "-" else 1
    whole = int(match[2] or 0)
    fraction = float("0." + match[3]) if match[3] else 0.0
    return sign * whole, sign * fraction


def parse_interval(text: str, typmod: int = -1) -> Interval:
    """PostgreSQL's interval input."""
    stripped = text.strip(" \t\n\r\v\f")
    fields = _parse_iso(stripped) if stripped[:1] in ("P", "p") else _parse_verbose(stripped.lower())
    if fields is None:
        raise DataError(f'invalid input syntax for type interval: "{text}"', sqlstate="22007")
    if not (_INT32[0] <= fields.months <= _INT32[1] and _INT32[0] <= fields.days <= _INT32[1] and _INT64[0] <= fields.micros <= _INT64[1]):
        raise DataError(f'interval field value out of range: "{text}"', sqlstate="22015")
    return Interval(fields.months, fields.days, fields.micros)


def _parse_verbose(text: str) -> _Fields | None:
    tokens = text.split()
    if tokens[:1] == ["@"]:
        tokens = tokens[1:]
    elif tokens and tokens[0].startswith("@"):
        tokens[0] = tokens[0][1:]
    negate = bool(tokens) and tokens[-1] == "ago"
    if negate:
        tokens = tokens[:-1]
    if not tokens:
        return None
    fields, seen = _Fields(), set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        unit = None
        clock = _CLOCK.match(token)
        year_month = _YEAR_MONTH.match(token)
        if clock is not None:
            if "clock" in seen:
                return None
            seen.add("clock")
            sign = -1 if clock[1] == "-" else 1
            hours, minutes, seconds = int(clock[2]), int(clock[3]), int(clock[4] or 0)
            fraction = float("0." + clock[5]) if clock[5] else 0.0
            fields.add_micros(sign * ((hours * 60 + minutes) * 60 + seconds), sign * fraction, USECS_PER_SEC)
            i += 1
            continue
        if year_month is not None:
            if "y" in seen or "mon" in seen:
                return None
            seen.update(("y", "mon"))
            sign = -1 if year_month[1] == "-" else 1
            fields.months += sign * (int(year_month[2]) * 12 + int(year_month[3]))
            i += 1
            continue
        glued = _GLUED.match(token)
        if glued is not None and glued[2] in _UNITS:
            number, unit = glued[1], _UNITS[glued[2]]
        else:
            number = token
            if i + 1 < len(tokens) and tokens[i + 1] in _UNITS:
                unit = _UNITS[tokens[i + 1]]
                i += 1
            elif i + 1 < len(tokens) and _CLOCK.match(tokens[i + 1]) and "d" not in seen:
                unit = "d"  # SQL's "D H:M:S"
            elif i + 1 == len(tokens):
                unit = "s"  # a trailing bare number is seconds
            else:
                return None
        parts = _split_number(number)
        if parts is None:
            return None
        if unit in seen:  # each unit may be given once
            return None
        seen.add(unit)
        fields.add(unit, *parts)
        i += 1
    if negate:
        fields.months, fields.days, fields.micros = -fields.months, -fields.days, -fields.micros
    return fields


def _parse_iso(text: str) -> _Fields | None:
    match = _ISO.match(text.upper())
    if match is None or text.upper() == "P":
        return None
    fields = _Fields()
    for value, unit in zip(match.groups(), ("y", "mon", "w", "d", "h", "min", "s")):
        if value is None:
            continue
        parts = _split_number(value)
        if parts is None:
            return None
        fields.add(unit, *parts)
    return fields


def format_interval(value: Interval) -> str:
    """IntervalStyle postgres: ``1 year 2 mons -3 days +04:05:06.7``."""
    months, days, micros = value
    years, months = int(months / 12), months - int(months / 12) * 12  # C division: toward zero
    parts: list[str] = []
    negative_before = False
    for amount, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if amount:
            parts.append(f"{'+' if negative_before and amount > 0 else ''}{amount} {unit}{'' if amount == 1 else 's'}")
            negative_before = amount < 0
    if not parts or micros:
        minus = micros < 0
        total = abs(micros)
        hours, rest = divmod(total, USECS_PER_HOUR)
        minutes, rest = divmod(rest, USECS_PER_MINUTE)
        seconds, fraction = divmod(rest, USECS_PER_SEC)
        clock = f"{'-' if minus else '+' if negative_before else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
        if fraction:
            clock += "." + f"{fraction:06d}".rstrip("0")
        parts.append(clock)
    return " ".join(parts)
