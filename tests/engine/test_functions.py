"""Scalar functions against PostgreSQL 15: resolution, result type, value and errors of each call."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg.types.string import TextLoader

from engine import dates
from engine.casts import cast_function
from engine.context import Context
from engine.errors import SqlError
from engine.functions import resolve, signature_error
from engine.types import BY_NAME, UNKNOWN, lookup

OIDS = (16, 17, 20, 21, 23, 25, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1700, 2950)

STRINGS = [
    "length('héllo')", "length('ab  '::char(4))", "char_length('abc'::varchar)", "length('\\x0102'::bytea)", "octet_length('héllo')",
    "octet_length('ab'::char(4))", "bit_length('ab')", "lower('ÄBC def')", "upper('abc Ä')", "initcap('hello wORLD-foo bar_baz 1st')",
    "substr('hello', 2)", "substr('hello', 2, 3)", "substr('hello', -1, 3)", "substr('hello', 0)", "substr('hello', 2, -1)",
    "substring('hello', 3)", "substr('\\x010203'::bytea, 2, 1)", "strpos('hello', 'l')", "strpos('hello', '')",
    "replace('hello', 'l', 'L')", "replace('hello', '', 'x')", "btrim('  ab  ')", "btrim('xxabxx', 'x')", "ltrim('  ab ')", "rtrim('  ab  ')",
    "ltrim('xyab', 'yx')", "rtrim('abxx', 'x')", "trim('  a ')", "btrim('\\x0001020100'::bytea, '\\x00'::bytea)",
    "concat('a', 1, NULL, true, 2.50, 'x'::char(3))", "concat(NULL)", "concat_ws(',', 'a', NULL, 2)", "concat_ws(NULL, 'a')",
    "concat_ws('-', '2020-01-01'::date, 1.5::float8)", "format('%s-%s', 'a', 3)", "format('%I, %L, %L', 'Foo bar', 'it''s', NULL)",
    "format('%2$s %1$s', 'a', 'b')", "format('%5s|%-5s|', 'ab', 'cd')", "format('%%')", "format('%s')", "format('%x', 1)",
    "format(NULL)", "format('%s %s', 'a')", "format('%*s', 4, 'x')", "format('%I', 'select')", "format('%L', 'a\\b')",
    "split_part('a,b,c', ',', 2)", "split_part('a,b,c', ',', -1)", "split_part('a,b,c', ',', 5)", "split_part('a,b,c', ',', 0)",
    "split_part('abc', '', 1)", "left('hello', 2)", "left('hello', -2)", "right('hello', 2)", "right('hello', -2)", "left('hi', 10)",
    "lpad('hi', 5)", "lpad('hi', 5, 'xy')", "lpad('hello', 3)", "rpad('hi', 5, 'ab')", "rpad('hi', -1)", "lpad('hi', 5, '')",
    "repeat('ab', 3)", "repeat('ab', -1)", "reverse('abc')", "md5('abc')", "md5('\\x00'::bytea)", "ascii('A')", "ascii('')",
    "ascii('é')", "chr(65)", "chr(233)", "chr(0)", "chr(-1)", "chr(1114112)", "starts_with('hello', 'he')", "starts_with('hello', 'lo')",
    "regexp_replace('hello world', 'o', '0')", "regexp_replace('hello world', 'o', '0', 'g')", "regexp_replace('Hello', 'h', 'J', 'i')",
    "regexp_replace('abc', '(b)', '[\\1\\&]')", "regexp_replace('a1b22', '[[:digit:]]+', '#', 'g')", "regexp_replace('abc', '(', 'x')",
    "regexp_replace('abc', 'b', 'x', 'z')", "regexp_like('Hello', '^h', 'i')", "regexp_like('Hello', '^h')", "regexp_count('abab', 'ab')",
    "regexp_count('ab\nab', 'b$')", "to_hex(255)", "to_hex(-1)", "to_hex(-1::int8)", "to_hex(2147483648)", "quote_ident('foo')",
    "quote_ident('Foo')", "quote_ident('a\"b')", "quote_ident('table')", "quote_ident('x$1')", "quote_literal('it''s')", "quote_literal('a\\b')",
    "quote_literal(42)", "quote_literal(1.50::numeric)", "quote_nullable(NULL)", "quote_nullable('a')", "translate('hello', 'el', 'ip')",
    "translate('hello', 'elo', 'i')", "length(5)", "lower(1)", "substr('abc')", "nosuchfn(1)", "upper('a'::varchar(3))",
]
RESOLUTION = [
    "length('abc'::varchar(5))", "length('abc')", "length(NULL)", "upper(NULL)", "md5(NULL)", "abs('-5')", "round(5::int8)", "round(1.5::float4)",
    "sqrt(4::int2)", "power(2::int8, 0.5)", "power(2, 3)", "log(2, 8.0)", "mod(7::int2, 3)", "gcd(5::int2, 3::int2)", "trunc(5)", "ceil(5)", "sign(5)",
    "substr(12345, 2)", "repeat('x', 3::int8)", "left('abc', 2::int2)", "concat()", "to_char(5::int2, '999')", "to_char(5.5::float4, '9.9')",
    "date_trunc('day', '2020-01-01')", "age('2020-03-01'::date, '2019-01-15'::date)", "date_part('day', '2020-01-01')", "lpad('a'::char(3), 5, '*')",
    "concat_ws(',')", "trim('x'::char(3))", "octet_length('ab'::varchar)", "exp(1::int8)", "ln(2.0::float4)", "make_date(2020::int8, 1, 1)",
    "make_interval(1, 2)", "to_timestamp('1')", "to_timestamp(1::int8)", "isfinite('2020-01-01')", "justify_days('1 day')", "quote_literal(NULL)",
]

MATH = [
    "abs(-5)", "abs(-5::int2)", "abs(-9223372036854775807::int8)", "abs(-2147483648)", "abs(-2.5)", "abs(-2.5::float4)", "abs(-0.0::float8)",
    "round(2.5)", "round(3.5::float8)", "round(-2.5::float8)", "round(-0.4::float8)", "round(2.5::numeric)", "round(-2.5)", "round(5)",
    "round(1234.5678, 2)", "round(1234.5678, -2)", "round(1234.5678, -5)", "round(5, 2)", "round('NaN'::numeric, 1)", "round(2.5::float8, 1)",
    "trunc(2.7)", "trunc(-2.7::float8)", "trunc(1234.5678, 2)", "trunc(1234.5678, -2)", "ceil(2.1)", "ceil(-2.1)", "ceil(-0.5::float8)",
    "ceiling(2.1::float8)", "floor(-2.1)", "floor(2.9::float8)", "floor(-0.5)", "sign(-3)", "sign(0.0)", "sign(2.5::float8)", "sign('NaN'::numeric)",
    "mod(7, 3)", "mod(-7, 3)", "mod(7::int8, -3)", "mod(7.5, 2)", "mod(5, 0)", "mod(5::int2, 3::int2)", "power(2, 10)", "power(2.0, 10)",
    "power(2::numeric, 0.5)", "power(-8::float8, 1.0/3)", "power(0::float8, -1)", "power(10::float8, 400)", "pow(2.5, 2)", "power(2::numeric, -2)",
    "power(1.5, 3)", "power(4::numeric, 0.5)", "power(-2::numeric, 3)", "power(0.0, -1)", "power(-2::numeric, 0.5)",
    "sqrt(2)", "sqrt(2::numeric)", "sqrt(16::numeric)", "sqrt(-1)", "sqrt(-1::numeric)", "sqrt(0.0001::numeric)", "sqrt(1e20::numeric)",
    "cbrt(27)", "cbrt(-8)", "exp(1)", "exp(1.0)", "exp(0::numeric)", "exp(1000::float8)", "exp(-1000::float8)", "exp(10.5::numeric)",
    "ln(10)", "ln(10::numeric)", "ln(0)", "ln(-1::numeric)", "ln(1.05::numeric)", "ln(123456.789::numeric)", "ln(0.001::numeric)",
    "log(100)", "log(100::numeric)", "log(2, 8)", "log(2.0, 64.0)", "log10(1000::float8)", "log(0)", "log(1, 10)",
    "pi()", "div(7, 2)", "div(-7.5, 2)", "div(7, 0)", "gcd(12, 18)", "gcd(-12::int8, 18)", "gcd(1.5, 2.25)", "gcd(-2147483648, 0)",
    "lcm(4, 6)", "lcm(1.5, 2.5)", "lcm(0, 5)", "degrees(pi())", "radians(180)", "degrees(1)", "sin(1)", "cos(0)", "tan(1)", "cot(1)",
    "asin(0.5)", "asin(2)", "acos(1)", "atan(1)", "atan2(1, 2)", "sinh(1)", "cosh(1)", "tanh(1)", "sin('Infinity'::float8)",
    "sinh(1000)", "cosh(-1000)", "tanh('Infinity'::float8)", "atan('-Infinity'::float8)", "scale(1.250)", "trim_scale(1.2500)", "trim_scale(100.00)", "abs('x')", "round(2.5, 'a')",
]

DATES = [
    "date_trunc('month', '2020-03-15 10:11:12'::timestamp)", "date_trunc('week', '2020-03-15 10:11:12'::timestamp)",
    "date_trunc('quarter', '2020-08-15'::timestamp)", "date_trunc('decade', '2021-08-15'::timestamp)", "date_trunc('century', '2001-08-15'::timestamp)",
    "date_trunc('millennium', '2000-08-15'::timestamp)", "date_trunc('hour', '2020-03-15 10:11:12'::timestamptz)", "date_trunc('day', '2020-03-15 10:11:12+05'::timestamptz)",
    "date_trunc('milliseconds', '2020-03-15 10:11:12.345678'::timestamp)", "date_trunc('second', 'infinity'::timestamp)", "date_trunc('foo', '2020-01-01'::timestamp)",
    "date_trunc('dow', '2020-01-01'::timestamp)", "date_trunc('hour', '1 day 25:30:00'::interval)", "date_trunc('year', '3 years 5 mons'::interval)",
    "date_trunc('month', '2020-03-15'::date)", "date_trunc('day', '2020-03-15 10:00'::timestamptz, 'Asia/Tokyo')",
    "date_part('year', '2020-03-15 10:11:12'::timestamp)", "date_part('second', '2020-03-15 10:11:12.5'::timestamp)", "date_part('epoch', '2020-03-15 10:11:12.5'::timestamp)",
    "date_part('dow', '2020-03-15'::date)", "date_part('hour', '2020-03-15'::date)", "date_part('epoch', '1 day 2 hours'::interval)", "date_part('month', '14 months'::interval)",
    "date_part('minute', '10:11:12'::time)", "date_part('doy', '2020-12-31'::timestamp)", "date_part('week', '2021-01-01'::timestamp)",
    "date_part('isoyear', '2021-01-01'::timestamp)", "date_part('timezone', '2020-01-01'::timestamptz)", "date_part('julian', '2020-01-01 12:00'::timestamp)",
    "extract('year', '2020-03-15 10:11:12'::timestamp)", "extract('second', '2020-03-15 10:11:12.5'::timestamp)", "extract('milliseconds', '2020-03-15 10:11:12.5'::timestamp)",
    "extract('microseconds', '2020-03-15 10:11:12.5'::timestamp)", "extract('epoch', '2020-03-15 10:11:12.5'::timestamptz)", "extract('epoch', '2020-03-15'::date)",
    "extract('hour', '2020-03-15'::date)", "extract('dow', '2020-03-15'::date)", "extract('isodow', '2020-03-15'::date)", "extract('century', '2001-01-01'::date)",
    "extract('millennium', '2000-12-31'::date)", "extract('decade', '0005-01-01 BC'::date)", "extract('year', '0005-01-01 BC'::timestamp)",
    "extract('epoch', '1 year 2 mons 3 days 04:05:06.5'::interval)", "extract('quarter', '5 mons'::interval)", "extract('hour', '-25 hours'::interval)",
    "extract('epoch', '10:11:12.25'::time)", "extract('day', '10:11:12'::time)", "extract('year', 'infinity'::timestamp)", "extract('hour', 'infinity'::timestamp)",
    "extract('julian', '2020-01-01'::date)", "extract('timezone_hour', '2020-01-01'::timestamptz)", "extract('week', '2020-12-31'::date)",
    "age('2020-03-15'::timestamp, '2019-01-20 10:00'::timestamp)", "age('2019-01-20'::timestamp, '2020-03-15 10:00'::timestamp)",
    "age('2020-03-31'::timestamp, '2020-02-29'::timestamp)", "age('2020-03-01'::timestamptz, '2020-01-31'::timestamptz)", "age('infinity'::timestamp, '2020-01-01'::timestamp)",
    "make_date(2020, 2, 29)", "make_date(2021, 2, 29)", "make_date(-44, 3, 15)", "make_date(0, 1, 1)", "make_time(10, 11, 12.5)", "make_time(25, 0, 0)",
    "make_timestamp(2020, 1, 2, 3, 4, 5.5)", "make_timestamp(2020, 13, 2, 3, 4, 5)", "make_timestamptz(2020, 1, 2, 3, 4, 5.5)",
    "make_timestamptz(2020, 1, 2, 3, 4, 5, 'America/New_York')", "make_interval(1, 2, 3, 4, 5, 6, 7.5)", "make_interval(0, 0, 0, 0, 0, 0, 0.0000005)",
    "make_interval(1)", "make_interval()", "make_interval(0, 0, 1, 2)", "justify_days('35 days'::interval)", "justify_days('-35 days'::interval)",
    "justify_days('1 mon -35 days'::interval)", "justify_hours('27 hours'::interval)", "justify_hours('1 day -27 hours'::interval)",
    "justify_interval('1 mon -1 hour'::interval)", "justify_interval('-1 mon 35 days 27 hours'::interval)", "isfinite('infinity'::date)",
    "isfinite('2020-01-01'::timestamp)", "isfinite('1 day'::interval)", "to_timestamp(0)", "to_timestamp(1583228800.5)", "to_timestamp('NaN'::float8)",
    "to_timestamp('Infinity'::float8)", "to_timestamp(1e20)", "to_timestamp(-1.0000005)", "date_bin('15 minutes', '2020-02-01 10:07'::timestamp, '2020-02-01 00:00'::timestamp)",
    "date_bin('15 minutes', '2020-02-01 10:07'::timestamp, '2020-02-01 10:30'::timestamp)", "date_bin('1 month', '2020-02-01'::timestamp, '2020-01-01'::timestamp)",
    "date_bin('1 hour', '2020-02-01 10:07+00'::timestamptz, '2020-01-01'::timestamptz)", "timezone('Asia/Tokyo', '2020-01-01 00:00+00'::timestamptz)",
    "timezone('America/New_York', '2020-07-01 00:00'::timestamp)", "date_trunc('hour', 'now')", "age(1)",
]

FORMATTING = [
    "to_char('2020-03-05 14:07:09.123456'::timestamp, 'YYYY-MM-DD HH24:MI:SS.US')", "to_char('2020-03-05 14:07:09'::timestamp, 'Day Dy Month Mon DY MON day mon')",
    "to_char('2020-03-05 14:07:09'::timestamp, 'FMDay FMMonth FMDD FMHH12 AM pm a.m. P.M.')", "to_char('2020-03-05 00:07:09'::timestamp, 'HH HH12 HH24 MS FF3 SSSS')",
    "to_char('2020-03-05'::timestamp, 'DDD D ID IW WW W Q CC J Y,YYY YYY YY Y RM rm')", "to_char('2020-03-01'::timestamp, 'DDth DDTH FMDDth Mon-ddth')",
    "to_char('2020-01-01 12:00'::timestamptz, 'YYYY-MM-DD HH24:MI TZ OF tz TZH:TZM')", "to_char('2020-01-01'::timestamp, '\"Year\" YYYY \"q\"Q')",
    "to_char('0044-03-15 BC'::timestamp, 'YYYY BC AD b.c.')", "to_char('2020-03-05'::date, 'YYYY/MM/DD')", "to_char('infinity'::timestamp, 'YYYY')",
    "to_char('1 year 2 mons 3 days 25:04:05'::interval, 'YYYY MM DD HH24 HH MI SS')", "to_char('3 days'::interval, 'Day')", "to_char('2021-01-03'::timestamp, 'IYYY-IW-ID IDDD')",
    "to_char(12.5, '999.99')", "to_char(-12.5, '999.99')", "to_char(0.5, '9.99')", "to_char(0, '999')", "to_char(0.1, '999.9')", "to_char(-0.1, '999.9')",
    "to_char(1234.5, '9,999.99')", "to_char(12, '9,999')", "to_char(5, '0009')", "to_char(5, '9099')", "to_char(-5, 'S999')", "to_char(5, '999S')",
    "to_char(-5, '999MI')", "to_char(-5, '999PR')", "to_char(5, '999PR')", "to_char(12.5, 'FM999.00')", "to_char(-12.5, 'FM999.99')", "to_char(12345, '999')",
    "to_char(12345.678, '9.99EEEE')", "to_char(0.0, 'FM9.99')", "to_char(-5, 'MI999')", "to_char(3, 'PL999')", "to_char(0, 'FM999')", "to_char(1234567, '9G999G999')",
    "to_char(3.14159::float8, '9.999')", "to_char(2.5::float8, '9')", "to_char(1e20::float8, '9999')", "to_char(123::int8, '00000')", "to_char(-1234.5::float4, '99999.9')",
    "to_char(0.001, '9.99')", "to_char(-0.001::float8, '9.99')", "to_char(42, 'FM9999th')", "to_char(12, '\"n=\"99')", "to_char(5.5, 'FM0.0')",
    "to_char(1234.5678, 'FM9,999.999')", "to_char(-1234.5678, 'SG9999.9')", "to_char(485, '999V99')",
    "to_date('2020-03-05', 'YYYY-MM-DD')", "to_date('05 Mar 2020', 'DD Mon YYYY')", "to_date('20200305', 'YYYYMMDD')", "to_date('2020-13-05', 'YYYY-MM-DD')",
    "to_date('March 5, 2020', 'Month DD, YYYY')", "to_date('x', 'YYYY')", "to_date('2020-366', 'YYYY-DDD')", "to_date('05/03/20', 'DD/MM/YY')",
    "to_timestamp('2020-03-05 14:07:09', 'YYYY-MM-DD HH24:MI:SS')", "to_timestamp('2020-03-05 02:07 PM', 'YYYY-MM-DD HH:MI AM')",
    "to_timestamp('2020-03-05 13:07', 'YYYY-MM-DD HH12:MI')", "to_timestamp('2020-03-05 14:07:09.123', 'YYYY-MM-DD HH24:MI:SS.MS')",
    "to_timestamp('2020-03-05 14:07:09.123456', 'YYYY-MM-DD HH24:MI:SS.US')", "to_timestamp('2020-03-05 14:07 +05:30', 'YYYY-MM-DD HH24:MI TZH:TZM')",
]

NUMERIC_PRECISION = [
    'power(1.0001, 10000)', 'power(2.5, 0.5)', 'power(10::numeric, -3)', 'power(0.5, 100)', 'power(123.456, 3.5)', 'power(2::numeric, 1000)',
    'power(1e-5, 7)', 'exp(100::numeric)', 'exp(-100::numeric)', 'exp(0.5::numeric)', 'exp(1.234567890123456789::numeric)', 'ln(2::numeric)',
    'ln(1e-30::numeric)', 'ln(1e30::numeric)', 'ln(0.95::numeric)', 'ln(1.0000001::numeric)', 'log(1e-30::numeric)', 'log(3::numeric)',
    'log(10::numeric, 2::numeric)', 'log(0.5, 2)', 'log(1000::numeric)', 'sqrt(1e-30::numeric)', 'sqrt(123456789012345678901234567890::numeric)', 'sqrt(0::numeric)',
    'sqrt(0.5::numeric)', 'sqrt(2.000000000000000000001::numeric)', 'round(0.5::float8)', 'round(1.5::float8)', 'round(-1234.5678, 3)', 'round(9.99999, 2)',
    'trunc(-0.5)', 'ceil(-0.5)', 'floor(0.5)', 'div(9.5, -2)', "div('Infinity'::numeric, 2)", 'mod(-7.5, 2)',
    'cbrt(2)', 'degrees(0.5)', 'radians(45)', 'tan(1.5707963267948966)', "cos('Infinity'::float8)", 'acos(-2)',
    'exp(709::float8)', 'exp(710::float8)', 'power(-8::float8, 3)', 'power(2::float8, 0.5)', "power('NaN'::float8, 0)", "power(1::float8, 'NaN')",
    'ln(1::float8)', 'gcd(0, 0)', 'gcd(9223372036854775807::int8, 3)', 'lcm(2147483647, 2)', 'lcm(12.5, 7.5)', 'gcd(-0.5, 0.25)',
    'sign(-0.0::float8)', 'abs(-32768::int2)', 'trim_scale(0.000)', 'scale(1e10)', 'round(1e10, -11)', 'round(123.456::numeric, 10)',
    'trunc(1e-10, 20)',
]
BINARY_AND_BUCKETS = [
    "encode('\\x00ff5c41'::bytea, 'hex')", "encode('\\x00ff5c41'::bytea, 'escape')", "encode('hello world hello world hello world hello world hello world hello world hello'::bytea, 'base64')", "encode('\\x01'::bytea, 'foo')",
    "decode('00ff', 'hex')", "decode('aGVsbG8=', 'base64')", "decode('a\\\\b\\000', 'escape')", "decode('0', 'hex')",
    "decode('!!', 'base64')", "sha256('abc'::bytea)", "sha512(''::bytea)", 'width_bucket(5.35, 0.024, 10.06, 5)',
    'width_bucket(0.0, 0.0, 10.0, 5)', 'width_bucket(10.0, 0.0, 10.0, 5)', 'width_bucket(-1.0, 0.0, 10.0, 5)', 'width_bucket(5.0, 10.0, 0.0, 5)',
    'width_bucket(9.99999999999999999, 0.0, 10.0, 3)', 'width_bucket(1.0, 1.0, 1.0, 5)', 'width_bucket(1.0, 0.0, 2.0, 0)', 'width_bucket(7, 0, 10, 3)',
]
MORE_FORMATTING = [
    "to_char(-0.5, '9.99')", "to_char(-5, 'FM999')", "to_char(123.456, '999')",
    "to_char(999.9, '999')", "to_char(-999.9, '999.9')", "to_char(0.05, '0.9')",
    "to_char(1, '9.99EEEE')", "to_char(0, '9.99EEEE')", "to_char(-123456, '9.9EEEE')",
    "to_char(1234.5::float8, '9.99EEEE')", "to_char(12, '99.99%')", "to_char(1234567.891, '999,999,999.99')",
    "to_char(-1234567.891, 'FM999,999,999.99')", "to_char(0.1, 'FM990.00')", "to_char(5, 'S0000')",
    "to_char(5, 'FMS999')", "to_char(5, 'FM999MI')", "to_char(12, 'FM99SG')",
    "to_char(1e15::float8, '9999999999999999.99')", "to_char(123456789012345678::int8, '999999999999999999')", "to_char(0.125::float8, '9.99')",
    "to_char(0.135, '9.99')", "to_char(2147483647, '9,999,999,999')", "to_char(1, '999th')",
    "to_char(11, 'FM99TH')", "to_char(-3, '999th')", "to_char(3.5, 'FM9.9th')",
    "to_char('2020-03-05 14:07:09'::timestamp, 'hh:mi:ss am')", "to_char('2020-03-05 12:00'::timestamp, 'HH12 PM')", "to_char('2020-03-05 00:00'::timestamp, 'HH12 AM')",
    "to_char('2020-12-31'::timestamp, 'WW IW')", "to_char('2020-01-01'::timestamp, 'W WW D')", 'to_char(\'2020-03-05\'::timestamp, \'dd "of" month, yyyy\')',
    'to_char(\'2020-03-05\'::timestamp, \'YYYY"x"MM\\\\"DD\')', "to_char('12345-01-01'::timestamp, 'YYYY')", "to_char('2020-03-05 14:07:09.5'::timestamp, 'FF1 FF2 FF6 MS US SSSSS')",
    "to_char('2020-03-05'::timestamp, 'FMMM/FMDD')", "to_char('2020-03-05'::timestamp, 'Q-CC-J')", "to_char('-1 year -2 mons'::interval, 'YYYY MM')",
    "to_char('-25 hours'::interval, 'HH24:MI HH')", "to_char('100 hours 5 minutes'::interval, 'HH24:MI:SS')", 'to_char(\'1 day\'::interval, \'DD "days"\')',
    "to_char('2020-03-05'::timestamp, '')", "to_char(5, '')", "to_date('2020 03 05', 'YYYY MM DD')",
    "to_date('2020-3-5', 'YYYY-MM-DD')", "to_date('20-03-05', 'YY-MM-DD')", "to_date('99-03-05', 'YY-MM-DD')",
    "to_date('5 March 2020', 'DD Month YYYY')", "to_date('Thursday 05 Mar 2020', 'Day DD Mon YYYY')", "to_date('2020-02-30', 'YYYY-MM-DD')",
    "to_date('2020/03/05', 'YYYY-MM-DD')", "to_date('', 'YYYY')", "to_date('2020', 'YYYY')",
    "to_date('2020-03', 'YYYY-MM-DD')", "to_timestamp('05.03.2020 14:07', 'DD.MM.YYYY HH24:MI')", "to_timestamp('12:30:45 AM', 'HH:MI:SS AM')",
    "to_timestamp('12:30:45 PM', 'HH12:MI:SS PM')", 'to_timestamp(\'2020-03-05T14:07:09\', \'YYYY-MM-DD"T"HH24:MI:SS\')', "to_timestamp('1 BC', 'YYYY BC')",
    "to_timestamp('2020-03-05 14:07:09 -03', 'YYYY-MM-DD HH24:MI:SS TZH')", "to_timestamp('2458914', 'J')", "to_timestamp('2020 60', 'YYYY DDD')",
]

ZONED = [
    "date_trunc('day', '2020-03-08 12:00:00+00'::timestamptz)", "date_trunc('hour', '2020-11-01 06:30:00+00'::timestamptz)",
    "date_part('hour', '2020-07-01 12:00+00'::timestamptz)", "extract('timezone', '2020-07-01 12:00+00'::timestamptz)",
    "to_char('2020-07-01 12:00+00'::timestamptz, 'YYYY-MM-DD HH24:MI TZ OF')", "age('2020-03-09'::timestamptz, '2020-03-07 12:00'::timestamptz)",
    "make_timestamptz(2020, 3, 8, 12, 0, 0)", "to_timestamp('2020-03-08 12:00', 'YYYY-MM-DD HH24:MI')", "date_bin('1 day', '2020-03-09 12:00+00'::timestamptz, '2020-01-01 00:00+00'::timestamptz)",
]

_LITERAL = re.compile(r"\s*(-?)(?:'((?:[^']|'')*)'|([0-9.]+(?:e[+-]?[0-9]+)?)|(NULL|true|false))(?:::([a-z0-9 ]+(?:\([0-9, ]+\))?))?\s*\Z", re.IGNORECASE | re.DOTALL)


def _split_args(text: str) -> list[str]:
    args, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(text):
        if c == "'":
            quoted = not quoted
        elif not quoted and c in "(":
            depth += 1
        elif not quoted and c in ")":
            depth -= 1
        elif not quoted and depth == 0 and c == ",":
            args.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        args.append(text[start:])
    return args


def _type(spec: str):
    name, _, mods = spec.strip().partition("(")
    return lookup(name.strip(), *(int(m) for m in mods.rstrip(")").split(",") if m.strip()))


def literal(text: str, zone: str) -> tuple:
    """(type, value) of a literal as PostgreSQL types it: quoted text is unknown, integers int4/int8/numeric."""
    if text.strip().startswith(("pi()", "1.0/3")):
        return (BY_NAME["float8"], 3.141592653589793) if text.strip() == "pi()" else (BY_NAME["numeric"], lookup("numeric").input("0.3333333333333333"))
    match = _LITERAL.match(text)
    assert match, text
    minus, quoted, number, word, cast = match.groups()
    if quoted is not None:
        sql_type, value = UNKNOWN, quoted.replace("''", "'")
    elif number is not None:
        if re.fullmatch(r"[0-9]+", number):
            n = int(number)
            n = -n if minus and not cast else n
            sql_type = BY_NAME["int4"] if -(2**31) <= n < 2**31 else BY_NAME["int8"] if -(2**63) <= n < 2**63 else BY_NAME["numeric"]
        else:
            sql_type = BY_NAME["numeric"]
        number = minus + number if not cast else number  # PostgreSQL folds the sign into a bare numeric constant
        minus = "" if not cast else minus
        value = sql_type.input(number)
    elif word.lower() == "null":
        sql_type, value = UNKNOWN, None
    else:
        sql_type, value = BY_NAME["bool"], word.lower() == "true"
    if cast:
        target = _type(cast)
        if value is not None:
            value = dates.parse_timestamptz(value, -1, zone) if sql_type == UNKNOWN and target.base == "timestamptz" else cast_function(sql_type, target)(value)
        sql_type = target
    if minus and value is not None:
        value = -value
    return sql_type, value


def _ours(expr: str, zone: str = "UTC") -> tuple:
    name, _, rest = expr.partition("(")
    ctx = Context(now=dates.parse_timestamptz("2020-06-15 12:34:56.789+00"), statement_now=0, timezone=zone)
    try:
        typed = [literal(a, zone) for a in _split_args(rest[:-1])]
        resolved = resolve(name, [t for t, _ in typed])
        if resolved is None:
            raise signature_error(name, [t for t, _ in typed])
        values = [None if v is None else cast_function(t, target)(v) for (t, v), target in zip(typed, resolved.args)]
        if resolved.strict and any(v is None for v in values):
            result = None
        else:
            result = resolved.fn(ctx, *values) if resolved.context else resolved.fn(*values)
        if result is None:
            text = None
        elif resolved.result.base == "timestamptz":
            text = dates.format_timestamptz(result, zone)
        else:
            text = resolved.result.format(result)
        return ("ok", text, resolved.result.display)
    except SqlError as exc:
        return (exc.sqlstate,)


def _postgres(cur, expr: str) -> tuple:
    sql = expr.replace("\n", "' || chr(10) || '")
    if sql.startswith("extract("):  # EXTRACT is syntax: extract(field FROM source)
        field, _, source = sql[len("extract(") : -1].partition(", ")
        sql = f"extract({field.strip(chr(39))} FROM {source})"
    try:
        row = cur.execute(f"SELECT x, pg_typeof(x)::text FROM (SELECT {sql} AS x) s", prepare=False).fetchone()
        return ("ok", row[0], row[1])
    except psycopg.Error as exc:
        return (exc.sqlstate,)


def _compare(pg, exprs: list[str], zone: str = "UTC") -> list[str]:
    mismatches = []
    with pg.cursor() as cur:
        for oid in OIDS:
            cur.adapters.register_loader(oid, TextLoader)
        cur.execute(f"SET TIME ZONE '{zone}'", prepare=False)
        try:
            for expr in exprs:
                want, got = _postgres(cur, expr), _ours(expr, zone)
                if got != want:
                    mismatches.append(f"{expr}: postgres {want}, immusql {got}")
        finally:
            cur.execute("SET TIME ZONE 'UTC'", prepare=False)
    return mismatches


@pytest.mark.parametrize("group", ["STRINGS", "RESOLUTION", "MATH", "NUMERIC_PRECISION", "BINARY_AND_BUCKETS", "DATES", "FORMATTING", "MORE_FORMATTING"])
def test_functions_match_postgres(pg, group):
    mismatches = _compare(pg, globals()[group])
    assert not mismatches, "\n".join(mismatches) + f"\n({len(mismatches)} mismatches)"


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_zoned_functions_match_postgres(pg, zone):
    mismatches = _compare(pg, ZONED + [e for e in DATES if "timestamptz" in e], zone)
    assert not mismatches, "\n".join(mismatches) + f"\n({len(mismatches)} mismatches)"


def test_clock_functions_read_the_context():
    ctx = Context(now=100 * 86_400_000_000 + 5, statement_now=7, timezone="Asia/Tokyo")
    now = resolve("now", [])
    assert now.context and now.result.base == "timestamptz" and now.fn(ctx) == ctx.now
    assert resolve("statement_timestamp", []).fn(ctx) == 7
    assert resolve("current_date", []).fn(ctx) == 100
    assert resolve("random", []).volatile and resolve("clock_timestamp", []).volatile
    assert resolve("gen_random_uuid", []).fn() != resolve("gen_random_uuid", []).fn()
    assert resolve("no_such_function", []) is None
    age = resolve("age", [BY_NAME["timestamp"]])
    assert BY_NAME["interval"].format(age.fn(ctx, 0)) == "3 mons 9 days"


def test_signature_error_has_postgres_hint():
    error = signature_error("length", [BY_NAME["int4"]])
    assert (error.sqlstate, error.message) == ("42883", "function length(integer) does not exist")
    assert error.hint == "No function matches the given name and argument types. You might need to add explicit type casts."
