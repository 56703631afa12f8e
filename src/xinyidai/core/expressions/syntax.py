"""Reading an expression: tokens, the parse, the allow-list of constructs, and positions.

The text is tokenized and parsed with sqlglot (DuckDB dialect). Before and after parsing, everything
outside the language (see :mod:`xinyidai.core.expressions.compiler`) is refused with the position of
the offending token. sqlglot records positions only on names, literals and function calls; operators,
``TRUE``/``FALSE``/``NULL`` and keywords are found from the token list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from xinyidai.core.expressions import messages as msg
from xinyidai.core.expressions.errors import (
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionTooComplex,
    ForbiddenConstruct,
)

MAX_LENGTH = 4000
MAX_NESTING = 20
MAX_DEPTH = 64

ALLOWED_FUNCTIONS = (
    "abs, round, least, greatest, coalesce, nullif, lower, upper, trim, length, substr, "
    "year, month, day, date_diff"
)

_DIALECT = Dialect.get_or_raise("duckdb")
_OPENERS = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE}
_CLOSERS = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END}
COMPARISON_TOKENS = {
    TokenType.EQ,
    TokenType.NEQ,
    TokenType.GT,
    TokenType.GTE,
    TokenType.LT,
    TokenType.LTE,
    TokenType.NOT,
    TokenType.IN,
    TokenType.BETWEEN,
    TokenType.LIKE,
    TokenType.IS,
}

_CLOCK_FUNCTIONS = frozenset(
    {
        "now",
        "today",
        "current_date",
        "current_time",
        "current_timestamp",
        "get_current_time",
        "get_current_timestamp",
        "transaction_timestamp",
        "current_localtimestamp",
        "localtimestamp",
        "localtime",
    }
)

# Each allowed node type, with the arguments it may carry (a flag set to False/None is ignored).
_ALLOWED: dict[type[exp.Expr], frozenset[str]] = {
    exp.Paren: frozenset({"this"}),
    exp.Column: frozenset({"this"}),
    exp.Identifier: frozenset({"this", "quoted"}),
    exp.Literal: frozenset({"this", "is_string"}),
    exp.Boolean: frozenset({"this"}),
    exp.Null: frozenset(),
    exp.Neg: frozenset({"this"}),
    exp.Add: frozenset({"this", "expression"}),
    exp.Sub: frozenset({"this", "expression"}),
    exp.Mul: frozenset({"this", "expression"}),
    exp.Div: frozenset({"this", "expression"}),
    exp.EQ: frozenset({"this", "expression"}),
    exp.NEQ: frozenset({"this", "expression"}),
    exp.GT: frozenset({"this", "expression"}),
    exp.GTE: frozenset({"this", "expression"}),
    exp.LT: frozenset({"this", "expression"}),
    exp.LTE: frozenset({"this", "expression"}),
    exp.And: frozenset({"this", "expression"}),
    exp.Or: frozenset({"this", "expression"}),
    exp.Not: frozenset({"this"}),
    exp.Is: frozenset({"this", "expression"}),
    exp.In: frozenset({"this", "expressions"}),
    exp.Between: frozenset({"this", "low", "high"}),
    exp.Like: frozenset({"this", "expression", "negate"}),
    exp.Case: frozenset({"this", "ifs", "default"}),
    exp.If: frozenset({"this", "true"}),
    exp.Cast: frozenset({"this", "to"}),
    exp.DataType: frozenset({"this", "expressions", "nested"}),
    exp.Date: frozenset({"this"}),
    exp.Abs: frozenset({"this"}),
    exp.Round: frozenset({"this", "decimals"}),
    exp.Least: frozenset({"this", "expressions", "ignore_nulls"}),
    exp.Greatest: frozenset({"this", "expressions", "ignore_nulls"}),
    exp.Coalesce: frozenset({"this", "expressions", "is_nvl", "is_null"}),
    exp.Nullif: frozenset({"this", "expression"}),
    exp.Lower: frozenset({"this"}),
    exp.Upper: frozenset({"this"}),
    exp.Trim: frozenset({"this"}),
    exp.Length: frozenset({"this"}),
    exp.Substring: frozenset({"this", "start", "length"}),
    exp.Year: frozenset({"this"}),
    exp.Month: frozenset({"this"}),
    exp.Day: frozenset({"this"}),
    exp.DateDiff: frozenset({"this", "expression", "unit", "date_part_boundary", "big_int"}),
}


def read(text: str) -> Source:
    """Tokenize, scan and parse ``text``; refuse what is outside the language."""
    if len(text) > MAX_LENGTH:
        raise ExpressionTooComplex(msg.TOO_LONG, position=MAX_LENGTH + 1, length=len(text), limit=MAX_LENGTH)
    if not text.strip():
        raise ExpressionSyntaxError(msg.EMPTY, position=1)
    tokens = _tokenize(text)
    _scan(text, tokens)
    tree = _parse(text, tokens)
    _check_depth(tree)
    return Source(text, tokens, tree)


def _tokenize(text: str) -> list[Token]:
    try:
        return _DIALECT.tokenize(text)
    except TokenError:
        raise _tokenizer_error(text) from None


def _tokenizer_error(text: str) -> ExpressionError:
    """Find what the tokenizer choked on: an unclosed quote or comment."""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "'\"":
            end = i + 1
            while True:
                end = text.find(char, end)
                if end < 0:
                    return ExpressionSyntaxError(msg.UNTERMINATED, position=i + 1)
                if text.startswith(char, end + 1):  # a doubled quote stands for itself
                    end += 2
                    continue
                break
            i = end + 1
        elif text.startswith(("--", "/*"), i):
            return ForbiddenConstruct(msg.COMMENT, position=i + 1)
        else:
            i += 1
    return ExpressionSyntaxError(msg.SYNTAX, position=1, token=text[:20])


def _scan(text: str, tokens: Sequence[Token]) -> None:
    """Refuse, before parsing, what is plain from the tokens: comments, ``;``, SELECT, deep nesting."""
    previous_end = -1
    depth = 0
    for token in [*tokens, None]:
        start = token.start if token is not None else len(text)
        gap = text[previous_end + 1 : start]
        if gap.strip():
            # Only comments live between tokens; anything else would have been tokenized.
            raise ForbiddenConstruct(msg.COMMENT, position=previous_end + 2 + len(gap) - len(gap.lstrip()))
        if token is None:
            break
        if token.comments:
            raise ForbiddenConstruct(msg.COMMENT, position=token.end + 2)
        kind = token.token_type
        if kind is TokenType.SEMICOLON:
            raise ForbiddenConstruct(msg.SEMICOLON, position=token.start + 1)
        if kind in (TokenType.SELECT, TokenType.WITH, TokenType.FROM):
            raise ForbiddenConstruct(msg.SUBQUERY, position=token.start + 1)
        if kind in _OPENERS:
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionTooComplex(msg.TOO_DEEP, position=token.start + 1, limit=MAX_NESTING)
        elif kind in _CLOSERS:
            depth -= 1
        previous_end = token.end


def _parse(text: str, tokens: list[Token]) -> exp.Expr:
    try:
        statements = _DIALECT.parser().parse(tokens, text)
    except ParseError as error:
        raise _syntax_error(error, text, tokens) from None
    except RecursionError:
        raise ExpressionTooComplex(msg.TOO_DEEP, position=1, limit=MAX_NESTING) from None
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionSyntaxError(msg.SYNTAX, position=1, token=text[:20])
    return statements[0]


def _syntax_error(error: ParseError, text: str, tokens: Sequence[Token]) -> ExpressionError:
    detail: dict[str, Any] = error.errors[0] if error.errors else {}
    line, col = detail.get("line"), detail.get("col")
    # sqlglot reports the line and the (1-based) column where the offending token ends.
    token = next((t for t in tokens if t.line == line and t.col == col), None)
    if token is None:
        token = tokens[-1]
    position = token.start + 1
    description = str(detail.get("description", ""))
    if description.startswith("Expecting )"):
        return ExpressionSyntaxError(msg.MISSING_PAREN, position=position)
    if description.startswith("The number of provided arguments"):
        return ExpressionSyntaxError(msg.TOO_MANY_ARGUMENTS, position=position)
    shown = text[token.start : token.end + 1]
    if description.startswith("Required keyword"):
        return ExpressionSyntaxError(msg.INCOMPLETE, position=position, token=shown)
    return ExpressionSyntaxError(msg.SYNTAX, position=position, token=shown)


def _check_depth(tree: exp.Expr) -> None:
    """Bound the operator depth (the checker and evaluators recurse over it); and/or chains count once."""
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            position = _meta_span(node)
            raise ExpressionTooComplex(
                msg.TOO_DEEP, position=position[0] + 1 if position else 1, limit=MAX_DEPTH
            )
        for child in node.iter_expressions():
            chained = isinstance(node, exp.And | exp.Or) and type(child) is type(node)
            stack.append((child, depth if chained else depth + 1))


def _meta_span(node: exp.Expr) -> tuple[int, int] | None:
    """The character span covered by the positions sqlglot recorded inside ``node`` (0-based)."""
    starts: list[int] = []
    ends: list[int] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.DataType):
            continue  # its default parameters carry positions in another text
        meta = current.meta
        if "start" in meta and "end" in meta:
            starts.append(int(meta["start"]))
            ends.append(int(meta["end"]))
        stack.extend(current.iter_expressions())
    return (min(starts), max(ends)) if starts else None


def _source_children(node: exp.Expr) -> Iterator[exp.Expr]:
    """The children of ``node`` in the order they appear in the text."""
    if isinstance(node, exp.DateDiff):
        keys: Sequence[str] = ("expression", "this")  # date_diff(unit, start, end); the unit is a Var
    elif isinstance(node, exp.DataType):
        keys = ()
    else:
        keys = list(type(node).arg_types)
    for key in keys:
        value = node.args.get(key)
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, exp.Expr):
                yield child


class Source:
    """A parsed expression with its tokens: finds where each node is, refuses what is not allowed."""

    def __init__(self, text: str, tokens: list[Token], tree: exp.Expr) -> None:
        self.text = text
        self.tokens = tokens
        self.tree = tree
        self._leaves: dict[int, tuple[int, int]] = {}
        self._spans: dict[int, tuple[int, int] | None] = {}
        self._prepare(tree)

    def _prepare(self, tree: exp.Expr) -> None:
        """Refuse constructs outside the language (first in text order) and locate every leaf."""
        keywords: list[exp.Expr] = []
        last_end = -1
        stack = [tree]
        while stack:
            node = stack.pop()
            meta = node.meta
            if "start" in meta and not isinstance(node, exp.DataType):
                self._leaves[id(node)] = (int(meta["start"]), int(meta["end"]))
            self._check_allowed(node, last_end)
            if isinstance(node, exp.Boolean | exp.Null):
                keywords.append(node)
            if "end" in meta:
                last_end = max(last_end, int(meta["end"]))
            stack.extend(reversed(list(_source_children(node))))
        # TRUE, FALSE and NULL carry no position: pair them with their tokens, in text order.
        keyword_tokens = [
            t for t in self.tokens if t.token_type in (TokenType.TRUE, TokenType.FALSE, TokenType.NULL)
        ]
        if len(keyword_tokens) == len(keywords):
            for node, token in zip(keywords, keyword_tokens, strict=True):
                self._leaves[id(node)] = (token.start, token.end)

    def span(self, node: exp.Expr) -> tuple[int, int] | None:
        """The characters ``node`` covers (0-based, inclusive), from the positions of its leaves."""
        # Iterative: a chain of hundreds of AND conditions is a tree that deep.
        stack: list[tuple[exp.Expr, bool]] = [(node, False)]
        while stack:
            current, children_done = stack.pop()
            key = id(current)
            if key in self._spans:
                continue
            children = list(_source_children(current))
            if not children_done:
                stack.append((current, True))
                stack.extend((child, False) for child in children if id(child) not in self._spans)
                continue
            found = [s for s in [self._leaves.get(key), *(self._spans[id(c)] for c in children)] if s]
            self._spans[key] = (min(s[0] for s in found), max(s[1] for s in found)) if found else None
        return self._spans[id(node)]

    def position(self, node: exp.Expr) -> int:
        span = self.span(node)
        return span[0] + 1 if span else 1

    def operator_position(
        self, node: exp.Expr, left: exp.Expr, right: exp.Expr, kinds: set[TokenType]
    ) -> int:
        """Where the operator token between two operands is."""
        left_span, right_span = self.span(left), self.span(right)
        low = left_span[1] if left_span else -1
        high = right_span[0] if right_span else len(self.text)
        for token in self.tokens:
            if low < token.start < high and token.token_type in kinds:
                return token.start + 1
        return self.position(node)

    def token_after(self, after: int, word: str | None = None) -> Token | None:
        candidates = [t for t in self.tokens if t.start > after]
        if word is not None:
            for token in candidates:
                if token.text.upper() == word:
                    return token
        return candidates[0] if candidates else None

    def _check_allowed(self, node: exp.Expr, last_end: int) -> None:
        allowed = _ALLOWED.get(type(node))
        if allowed is not None:
            extra = [k for k, v in node.args.items() if k not in allowed and v not in (None, False, [])]
            if not extra and (not isinstance(node, exp.Column) or isinstance(node.this, exp.Identifier)):
                return
            if isinstance(node, exp.Column) and any(node.args.get(k) for k in ("table", "db", "catalog")):
                raise ForbiddenConstruct(msg.TABLE, position=self._first_position(node, last_end))
        raise self.forbidden(node, last_end)

    def _first_position(self, node: exp.Expr, last_end: int) -> int:
        """Where a construct starts: its own position, else its keyword, else its first operand."""
        meta = node.meta
        if "start" in meta:
            return int(meta["start"]) + 1
        span = _meta_span(node)
        match = re.match(r"\w+|\S", node.sql(dialect="duckdb"))
        if match is not None:
            word = match.group(0).upper()
            limit = span[0] if span is not None else len(self.text)
            for token in self.tokens:
                if last_end < token.start <= limit and token.text.upper() == word:
                    return token.start + 1
        if span is not None:
            return span[0] + 1
        following = self.token_after(last_end)
        return following.start + 1 if following is not None else 1

    def forbidden(self, node: exp.Expr, last_end: int = -1) -> ExpressionError:
        """The error for a construct outside the language."""
        if isinstance(node, exp.Window):
            node = node.this
        position = self._first_position(node, last_end)
        name = _function_name(node)
        if isinstance(node, exp.Subquery | exp.Select | exp.Exists | exp.Query):
            return ForbiddenConstruct(msg.SUBQUERY, position=position)
        if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("field")):
            return ForbiddenConstruct(msg.SUBQUERY, position=position)
        if isinstance(node, exp.Placeholder | exp.Parameter):
            return ForbiddenConstruct(msg.PARAMETER, position=position)
        if isinstance(node, exp.Alias):
            alias = node.args.get("alias")
            span = _meta_span(alias) if isinstance(alias, exp.Expr) else None
            return ExpressionSyntaxError(
                msg.SYNTAX,
                position=span[0] + 1 if span else position,
                token=self.text[span[0] : span[1] + 1] if span else node.alias,
            )
        if isinstance(node, exp.Is):
            return ForbiddenConstruct(msg.IS, position=position)
        if name is not None and (
            name in _CLOCK_FUNCTIONS
            or isinstance(
                node, exp.CurrentDate | exp.CurrentTimestamp | exp.CurrentTime | exp.CurrentDatetime
            )
        ):
            return ForbiddenConstruct(msg.CLOCK, position=position, name=name)
        if isinstance(node, exp.AggFunc) or (name is not None and node.find_ancestor(exp.Window)):
            return ForbiddenConstruct(msg.AGGREGATE, position=position, name=name or "")
        if name is not None and type(node) not in _ALLOWED:
            return ForbiddenConstruct(msg.FUNCTION, position=position, name=name, allowed=ALLOWED_FUNCTIONS)
        if isinstance(node, exp.Binary) and node.left is not None and node.right is not None:
            left_span = _meta_span(node.left)
            right_span = _meta_span(node.right)
            low = left_span[1] if left_span else -1
            high = right_span[0] if right_span else len(self.text)
            between = [
                t for t in self.tokens if low < t.start < high and t.token_type is not TokenType.R_PAREN
            ]
            if between:
                return ForbiddenConstruct(
                    msg.CONSTRUCT,
                    position=between[0].start + 1,
                    construct=self.text[between[0].start : between[0].end + 1],
                )
        if isinstance(node, exp.Star):
            return ForbiddenConstruct(msg.CONSTRUCT, position=position, construct="*")
        token = next((t for t in self.tokens if t.start == position - 1), None)
        construct = self.text[token.start : token.end + 1] if token is not None else node.key
        return ForbiddenConstruct(msg.CONSTRUCT, position=position, construct=construct)


def _function_name(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return str(node.sql_name()).lower() if hasattr(node, "sql_name") else node.key
    if isinstance(node, exp.CurrentDate | exp.CurrentTimestamp | exp.CurrentTime):
        return node.key
    return None
