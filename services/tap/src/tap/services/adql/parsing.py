"""Strict ADQL parsing: sqlglot with an ADQL dialect, plus checks of the token stream.

sqlglot is lenient by design (it skips what it does not know, accepts every SQL dialect's
lexical forms), so before parsing every token is checked against what ADQL allows and the
text between tokens must be blanks or ``--`` comments: anything else is refused, never
rewritten.
"""

from __future__ import annotations

import re

from sqlglot import exp, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from .model import AdqlError


class Adql(Dialect):
    # PostgreSQL's semantics, so that generating PostgreSQL adds nothing: no NULLS FIRST/LAST
    # in ORDER BY, no cast around an integer division.
    NULL_ORDERING = "nulls_are_large"
    TYPED_DIVISION = True

    class Tokenizer(tokens.Tokenizer):
        # ADQL has only line comments; "/*" then reads as an operator and is refused below.
        COMMENTS = ["--"]
        KEYWORDS = {
            **{
                key: value
                for key, value in tokens.Tokenizer.KEYWORDS.items()
                if not key.startswith("/*")
            },
            "TOP": TokenType.TOP,
        }


_DIALECT = Adql()

#: Punctuation, operators and literals ADQL has; words are checked separately.
_SYMBOLS = {
    TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA, TokenType.DOT, TokenType.STAR,
    TokenType.PLUS, TokenType.DASH, TokenType.SLASH, TokenType.EQ, TokenType.NEQ, TokenType.LT,
    TokenType.LTE, TokenType.GT, TokenType.GTE, TokenType.DPIPE, TokenType.AMP, TokenType.PIPE,
    TokenType.CARET, TokenType.TILDE, TokenType.NUMBER, TokenType.STRING, TokenType.IDENTIFIER,
}  # fmt: skip
_EXPLAINED = {
    TokenType.SEMICOLON: "only one statement is allowed: remove the ';' and what follows it",
    TokenType.DCOLON: "'::' casts are not ADQL; use CAST(value AS type)",
    TokenType.LIMIT: "LIMIT is not ADQL; use SELECT TOP n",
    TokenType.NATIONAL_STRING: "prefixed string literals (N'...', E'...', U&'...') are not ADQL",
}
#: Keywords such as ORDER BY or DOUBLE PRECISION are one token.
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\s+[A-Za-z][A-Za-z0-9_]*)*")
#: What PostgreSQL reads as a prefix of a string literal (E'..', B'..', X'..', N'..').
_STRING_PREFIXES = {"e", "b", "x", "n"}
_BLANKS_AND_LINE_COMMENTS = re.compile(r"(?:\s+|--[^\n]*)*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STATEMENT_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN}
#: Keywords that are never a name, so never qualified (sqlglot drops a dot after them).
_CLAUSE_WORDS = {
    TokenType.SELECT, TokenType.FROM, TokenType.WHERE, TokenType.JOIN, TokenType.ON,
    TokenType.AND, TokenType.OR, TokenType.NOT, TokenType.GROUP_BY, TokenType.ORDER_BY,
    TokenType.HAVING, TokenType.ALIAS, TokenType.IN, TokenType.IS, TokenType.LIKE,
    TokenType.ILIKE, TokenType.BETWEEN, TokenType.CASE, TokenType.WHEN, TokenType.THEN,
    TokenType.ELSE, TokenType.END, TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT,
    TokenType.WITH, TokenType.DISTINCT, TokenType.ALL, TokenType.TOP, TokenType.OFFSET,
    TokenType.USING, TokenType.INNER, TokenType.LEFT, TokenType.RIGHT, TokenType.FULL,
    TokenType.OUTER, TokenType.CROSS, TokenType.NATURAL, TokenType.EXISTS, TokenType.NULL,
    TokenType.ASC, TokenType.DESC,
}  # fmt: skip
_NOT_NAMES = (_SYMBOLS - {TokenType.IDENTIFIER}) | _CLAUSE_WORDS


def parse(query: str) -> exp.Expr:
    """The one ADQL statement in ``query`` as a sqlglot tree, or ``AdqlError``."""
    if not query.strip():
        raise AdqlError("the query is empty")
    try:
        stream = _DIALECT.tokenize(query)
    except TokenError:
        raise AdqlError(_unreadable(query)) from None
    _check_tokens(query, stream)
    if not stream:
        raise AdqlError("the query is empty")
    if stream[0].token_type not in _STATEMENT_STARTS:
        raise AdqlError("only SELECT queries are allowed")
    try:
        statements = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(stream, query)
    except ParseError as error:
        raise AdqlError(_syntax_error(error)) from None
    if len(statements) != 1 or statements[0] is None:
        raise AdqlError("only one statement is allowed")
    return statements[0]


def _unreadable(query: str) -> str:
    if query.count("'") % 2 or query.count('"') % 2:
        return "ADQL syntax error: a quoted string or identifier is not closed"
    return "ADQL syntax error: the query contains characters ADQL does not allow"


def _where(token: Token) -> str:
    return f"(line {token.line}, column {token.col})"


def _check_tokens(query: str, stream: list[Token]) -> None:
    previous_end = -1
    for index, token in enumerate(stream):
        kind, start, end = token.token_type, token.start, token.end
        if start != previous_end + 1:
            gap = query[previous_end + 1 : start]
            if not gap.isspace() and not _BLANKS_AND_LINE_COMMENTS.fullmatch(gap):
                raise AdqlError("only -- comments are allowed in ADQL")
        following = stream[index + 1] if index + 1 < len(stream) else None
        adjacent = following.token_type if following and following.start == end + 1 else None
        if kind in _SYMBOLS:
            if kind == TokenType.NUMBER and not _NUMBER.fullmatch(query, start, end + 1):
                spelled = query[start : end + 1]
                raise AdqlError(f"ADQL syntax error: '{spelled}' is not a number {_where(token)}")
            if kind == TokenType.DOT and not _dot_fits(
                stream[index - 1] if index else None, token, following
            ):
                raise AdqlError(f"ADQL syntax error: misplaced '.' {_where(token)}")
            if kind == TokenType.SLASH and adjacent == TokenType.STAR:
                raise AdqlError("/* */ comments are not ADQL; use -- comments")
            if kind == TokenType.AMP and adjacent == TokenType.STRING:  # U&'...'
                raise AdqlError(_EXPLAINED[TokenType.NATIONAL_STRING])
        else:
            if kind in _EXPLAINED:
                raise AdqlError(_EXPLAINED[kind])
            # A word spelled only with letters, digits and blanks cannot hide a quoted form.
            spelled = query[start : end + 1]
            if not (spelled.isidentifier() and spelled.isascii()) and not _KEYWORD.fullmatch(
                spelled
            ):
                if "$" in spelled:
                    raise AdqlError("'$' (dollar quoting, parameters) is not ADQL")
                raise AdqlError(f"ADQL syntax error: unexpected '{spelled}' {_where(token)}")
            if adjacent == TokenType.STRING and spelled.lower() in _STRING_PREFIXES:
                raise AdqlError(_EXPLAINED[TokenType.NATIONAL_STRING])
        previous_end = end
    if not _BLANKS_AND_LINE_COMMENTS.fullmatch(query, previous_end + 1):
        raise AdqlError("only -- comments are allowed in ADQL")


def _is_name(token: Token | None) -> bool:
    return token is not None and token.token_type not in _NOT_NAMES


def _dot_fits(before: Token | None, dot: Token, after: Token | None) -> bool:
    """A dot qualifies a name (``schema.table``, ``t.*``) or starts a number (``.5``)."""
    if _is_name(before):
        return _is_name(after) or (after is not None and after.token_type == TokenType.STAR)
    return after is not None and after.token_type == TokenType.NUMBER and after.start == dot.end + 1


def _syntax_error(error: ParseError) -> str:
    details = error.errors[0] if error.errors else {}
    near = (details.get("highlight") or "").strip()
    line, column = details.get("line"), details.get("col")
    where = f" (line {line}, column {column})" if line and column else ""
    return f"ADQL syntax error near '{near}'{where}" if near else f"ADQL syntax error{where}"
