"""sqlglot's function nodes back to PostgreSQL calls: the name and the arguments in PostgreSQL's order.

sqlglot turns many calls into typed nodes (``length(x)`` is ``exp.Length``,
``position(a in b)`` is ``exp.StrPosition``); the binder resolves functions by
PostgreSQL's names, so this table says which name and argument order each node
stands for. Unlisted ``exp.Func`` nodes fall back to their own SQL name and
arguments in declaration order, and ``exp.Anonymous`` is a call by name.
"""

from __future__ import annotations

from sqlglot import exp

# node class -> (PostgreSQL name, argument keys in PostgreSQL's order)
_CALLS: dict[type, tuple[str, tuple[str, ...]]] = {
    exp.Lower: ("lower", ("this",)),
    exp.Upper: ("upper", ("this",)),
    exp.Length: ("length", ("this",)),
    exp.Substring: ("substr", ("this", "start", "length")),
    exp.Replace: ("replace", ("this", "expression", "replacement")),
    exp.SplitPart: ("split_part", ("this", "delimiter", "part_index")),
    exp.Format: ("format", ("this", "expressions")),
    exp.Left: ("left", ("this", "expression")),
    exp.Right: ("right", ("this", "expression")),
    exp.RegexpReplace: ("regexp_replace", ("this", "expression", "replacement", "position")),
    exp.Abs: ("abs", ("this",)),
    exp.Round: ("round", ("this", "decimals")),
    exp.Ceil: ("ceil", ("this",)),
    exp.Floor: ("floor", ("this",)),
    exp.Mod: ("mod", ("this", "expression")),
    exp.Pow: ("power", ("this", "expression")),
    exp.Sqrt: ("sqrt", ("this",)),
    exp.Rand: ("random", ()),
    exp.Log: ("log", ("this", "expression")),
    exp.Ln: ("ln", ("this",)),
    exp.Exp: ("exp", ("this",)),
    exp.MD5: ("md5", ("this",)),
    exp.Initcap: ("initcap", ("this",)),
    exp.Repeat: ("repeat", ("this", "times")),
    exp.Reverse: ("reverse", ("this",)),
    exp.Trunc: ("trunc", ("this", "decimals")),
    exp.Sign: ("sign", ("this",)),
    exp.StrPosition: ("strpos", ("this", "substr")),
    exp.TimestampTrunc: ("date_trunc", ("unit", "this")),
    exp.TimeToStr: ("to_char", ("this", "format")),
    exp.StrToDate: ("to_date", ("this", "format")),
    exp.StrToTime: ("to_timestamp", ("this", "format")),
    exp.UnixToTime: ("to_timestamp", ("this",)),
    exp.Pi: ("pi", ()),
    exp.Chr: ("chr", ("expressions",)),
    exp.Ascii: ("ascii", ("this",)),
    exp.Concat: ("concat", ("expressions",)),
    exp.ConcatWs: ("concat_ws", ("expressions",)),
    exp.Uuid: ("gen_random_uuid", ()),
    exp.ArraySize: ("array_length", ("this", "expression")),
    exp.DateBin: ("date_bin", ("unit", "this", "expression")),
    exp.Date: ("date", ("this",)),
}
_MAKE_INTERVAL = ("year", "month", "week", "day", "hour", "minute", "second")


def call_of(node: exp.Func) -> tuple[str, list[exp.Expr]]:
    """(PostgreSQL function name, argument nodes) of a function-call node."""
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower(), list(node.expressions)
    if isinstance(node, exp.Trim):
        position = str(node.args.get("position") or "").upper()
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(position, "btrim")
        return name, [a for a in (node.this, node.args.get("expression")) if a is not None]
    if isinstance(node, exp.Pad):
        return ("lpad" if node.args.get("is_left") else "rpad"), _args(node, ("this", "expression", "fill_pattern"))
    if isinstance(node, exp.MakeInterval):
        return "make_interval", _args(node, _MAKE_INTERVAL)
    spec = _CALLS.get(type(node))
    if spec is not None:
        return spec[0], _args(node, spec[1])
    return node.sql_name().lower(), _args(node, tuple(node.arg_types))


def _args(node: exp.Expr, keys: tuple[str, ...]) -> list[exp.Expr]:
    out: list[exp.Expr] = []
    for key in keys:
        value = node.args.get(key)
        if isinstance(value, list):
            out.extend(value)
        elif isinstance(value, exp.Expr):
            out.append(value)
    return out
