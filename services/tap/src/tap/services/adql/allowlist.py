"""The fail-closed allowlist: every node of a parsed query must be of a class listed here.

sqlglot knows every SQL dialect, so a tree may hold anything (a window, a lock, a function of
MySQL); what is not listed is refused, whatever it is, before any translation.
"""

from __future__ import annotations

from sqlglot import exp

from .model import AdqlError

_STRUCTURE = {
    exp.Select, exp.Union, exp.Except, exp.Intersect, exp.Subquery, exp.From, exp.Join,
    exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit, exp.Offset, exp.With,
    exp.CTE, exp.TableAlias, exp.Table, exp.Column, exp.Identifier, exp.Alias, exp.Star,
    exp.Distinct, exp.Paren,
}  # fmt: skip
_VALUES_AND_OPERATORS = {
    exp.Literal, exp.Null, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.DPipe, exp.EQ,
    exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not, exp.Is, exp.Like,
    exp.ILike, exp.In, exp.Between, exp.Exists, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor,
    exp.BitwiseNot, exp.Case, exp.If, exp.Cast, exp.DataType, exp.DataTypeParam,
}  # fmt: skip
#: ADQL functions sqlglot knows as classes, with the arguments each may carry.
FUNCTION_ARGUMENTS: dict[type[exp.Expr], set[str]] = {
    **{
        function: {"this"}
        for function in (
            exp.Abs, exp.Ceil, exp.Floor, exp.Exp, exp.Sqrt, exp.Degrees, exp.Radians, exp.Sin,
            exp.Cos, exp.Tan, exp.Asin, exp.Acos, exp.Atan, exp.Cot, exp.Lower, exp.Upper,
            exp.Sum, exp.Avg, exp.Min, exp.Max,
        )
    },
    **{
        function: {"this", "expression"}
        for function in (exp.Atan2, exp.Pow, exp.Log, exp.Mod, exp.Contains)
    },
    exp.Round: {"this", "decimals"},
    exp.Trunc: {"this", "decimals"},
    exp.Pi: set(),
    exp.Rand: set(),
    exp.Coalesce: {"this", "expressions"},
    exp.Count: {"this", "big_int"},
    exp.Cast: {"this", "to", "_type"},
}  # fmt: skip
#: ADQL functions sqlglot does not know (upper-case name → fewest and most arguments).
ADQL_FUNCTIONS: dict[str, tuple[int, int]] = {
    "POINT": (2, 3), "CIRCLE": (2, 4), "BOX": (3, 5), "POLYGON": (3, 1000), "REGION": (1, 1),
    "DISTANCE": (2, 4), "AREA": (1, 1), "CENTROID": (1, 1), "COORD1": (1, 1),
    "COORD2": (1, 1), "COORDSYS": (1, 1), "INTERSECTS": (2, 2), "IN_UNIT": (2, 2),
    "BITWISE_AND": (2, 2), "BITWISE_OR": (2, 2), "BITWISE_XOR": (2, 2), "BITWISE_NOT": (1, 1),
}  # fmt: skip
_ALLOWED = frozenset(_STRUCTURE | _VALUES_AND_OPERATORS | set(FUNCTION_ARGUMENTS) | {exp.Anonymous})
_QUERY_HOLDERS = (exp.Subquery, exp.SetOperation, exp.CTE, exp.Exists)
#: Only where these parents hold them (a query also at the top).
_PARENTS = {
    exp.If: exp.Case, exp.DataType: exp.Cast, exp.DataTypeParam: exp.DataType,
    exp.Alias: exp.Select, exp.Star: (exp.Select, exp.Count, exp.Column),
    exp.Select: _QUERY_HOLDERS, exp.Union: _QUERY_HOLDERS, exp.Except: _QUERY_HOLDERS,
    exp.Intersect: _QUERY_HOLDERS,
}  # fmt: skip
#: Forms sqlglot accepts but that are not ADQL (nor valid SQL).
_INCOMPLETE = {
    exp.Group: lambda node: not node.expressions,
    exp.Order: lambda node: not node.expressions,
    exp.In: lambda node: not node.expressions and node.args.get("query") is None,
    exp.Is: lambda node: not isinstance(node.expression, exp.Null),
    exp.Count: lambda node: node.this is None,
    exp.Distinct: lambda node: isinstance(node.parent, exp.AggFunc) and not node.expressions,
    exp.Join: lambda node: node.kind == "OUTER" and not node.side,
    exp.Table: lambda node: not _names(node, "this", "db", "catalog"),
    exp.Column: lambda node: not _names(node, "table", "db", "catalog"),
}


def _names(node: exp.Expr, *parts: str) -> bool:
    """Whether each qualifying part sqlglot read is a name (it may keep an empty string)."""
    return all(isinstance(node.args.get(part), exp.Identifier | None) for part in parts)


#: Arguments that would change a listed node into something ADQL does not have.
_FORBIDDEN_ARGUMENTS = {
    exp.Distinct: {"on"},
    exp.Join: {"match_condition", "pivots", "expressions", "global_", "hint"},
    exp.Table: {"joins", "laterals", "pivots", "sample", "hints", "version", "when", "partition"},
    exp.With: {"recursive"},
    exp.Like: {"escape"},
    exp.ILike: {"escape"},
    exp.Limit: {"offset", "expressions"},
}  # fmt: skip
_STATEMENTS = (exp.Select, exp.Union, exp.Except, exp.Intersect)
_NAMED = {exp.Window: "a window function (OVER)", exp.Lock: "FOR UPDATE or FOR SHARE"}
_MISPLACED = {
    exp.Star: "'*'", exp.Alias: "AS (allowed in the select list only)",
    exp.Select: "SELECT (a subquery goes in parentheses)",
}  # fmt: skip


#: Allowed wherever they are, whatever they hold: most nodes of a query.
_UNCONDITIONAL = _ALLOWED - {
    *_PARENTS,
    *_FORBIDDEN_ARGUMENTS,
    *FUNCTION_ARGUMENTS,
    *_INCOMPLETE,
    exp.Anonymous,
    exp.Select,
}


def check(tree: exp.Expr) -> None:
    """``AdqlError`` unless every node of ``tree`` is something ADQL allows."""
    if not isinstance(tree, _STATEMENTS):
        raise AdqlError("only SELECT queries are allowed")
    for node in tree.walk():
        kind = type(node)
        if kind in _UNCONDITIONAL:
            continue
        if kind not in _ALLOWED:
            raise AdqlError(_refusal(node))
        parent = _PARENTS.get(kind)
        if parent is not None and node is not tree and not isinstance(node.parent, parent):
            what = _MISPLACED.get(kind, kind.__name__.upper())
            raise AdqlError(f"ADQL syntax error: misplaced {what}")
        if kind in _FORBIDDEN_ARGUMENTS and _present(node) & _FORBIDDEN_ARGUMENTS[kind]:
            raise AdqlError(f"this form of {kind.__name__.upper()} is not supported in ADQL")
        if kind in FUNCTION_ARGUMENTS and not _present(node) <= FUNCTION_ARGUMENTS[kind]:
            raise AdqlError(f"wrong number of arguments for {_function_name(node)}")
        if kind in _INCOMPLETE and _INCOMPLETE[kind](node):
            raise AdqlError(f"ADQL syntax error in {kind.__name__.upper()}")
        if kind is exp.Anonymous:
            _check_adql_function(node)
        if kind is exp.Select and node.args.get("into") is not None:
            raise AdqlError("SELECT INTO is not allowed")


def _present(node: exp.Expr) -> set[str]:
    return {key for key, value in node.args.items() if value not in (None, False, [])}


def _function_name(node: exp.Expr) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _check_adql_function(node: exp.Anonymous) -> None:
    name = node.name.upper()
    if name not in ADQL_FUNCTIONS:
        raise AdqlError(f"unsupported function '{node.name}'")
    fewest, most = ADQL_FUNCTIONS[name]
    if not fewest <= len(node.expressions) <= most:
        raise AdqlError(f"wrong number of arguments for {name}")


def _refusal(node: exp.Expr) -> str:
    if isinstance(node, exp.Func):
        return f"unsupported function '{_function_name(node).lower()}'"
    if isinstance(node, (exp.DDL, exp.DML, exp.Command)):
        return "only SELECT queries are allowed"
    return f"{_NAMED.get(type(node), type(node).__name__.upper())} is not supported in ADQL"
