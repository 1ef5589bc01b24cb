"""Tokenizer and recursive-descent parser for the QBO query language subset.

::

    query      := SELECT selection FROM entity [WHERE condition (AND condition)*]
                  [ORDERBY order (',' order)*] [STARTPOSITION int] [MAXRESULTS int]
    selection  := '*' (',' name)* | COUNT '(' '*' ')'
    condition  := name ('=' | '<' | '>' | '<=' | '>=') value
                | name IN '(' value (',' value)* ')'
                | name LIKE string
    order      := name [ASC | DESC]
    value      := string | number | TRUE | FALSE

Keywords are case-insensitive; clauses must come in the order above. Strings are single-
quoted; a backslash escapes the next character (``\\'`` and ``\\\\``). ``OR``, unknown
operators, an unescaped quote or anything else off-grammar raise the vendor's 4000
``QueryParserError`` naming the token and its 1-based column. Field names and whether a
field may be filtered are checked later, by :mod:`emulators.quickbooks.query_exec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from emulators.quickbooks import faults

__all__ = ["Condition", "Query", "Token", "parse_query", "tokenize"]

KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDERBY", "ASC", "DESC",
    "STARTPOSITION", "MAXRESULTS", "COUNT", "TRUE", "FALSE",
})
Kind = Literal["keyword", "name", "string", "number", "op", "(", ")", ",", "*", "eof"]
Value = str | Decimal | bool


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    column: int
    value: Value | None = None


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: tuple[Value, ...]
    column: int = 0


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool = False
    conditions: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    start_position: int | None = None
    max_results: int | None = None
    extra_fields: tuple[str, ...] = field(default=())


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_."


def _read_string(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if ch == "'":
            return "".join(chars), index + 1
        chars.append(ch)
        index += 1
    raise faults.query_parse_error("<EOF>", len(text) + 1, "\"'\"")


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens; raises the 4000 fault on a character it cannot use."""
    tokens: list[Token] = []
    index, length = 0, len(text)
    while index < length:
        ch = text[index]
        column = index + 1
        if ch.isspace():
            index += 1
        elif ch == "'":
            value, index = _read_string(text, index)
            tokens.append(Token("string", text[column - 1:index], column, value))
        elif ch in "<>=!":
            two = text[index:index + 2]
            op = two if two in ("<=", ">=", "<>", "!=") else ch
            tokens.append(Token("op", op, column))
            index += len(op)
        elif ch in "(),*":
            tokens.append(Token(ch, ch, column))  # type: ignore[arg-type]
            index += 1
        elif ch.isdigit() or (ch == "-" and index + 1 < length and text[index + 1].isdigit()):
            end = index + 1
            while end < length and (text[end].isdigit() or text[end] == "."):
                end += 1
            number = text[index:end]
            try:
                tokens.append(Token("number", number, column, Decimal(number)))
            except ArithmeticError:
                raise faults.query_parse_error(number, column) from None
            index = end
        elif _name_char(ch):
            end = index
            while end < length and _name_char(text[end]):
                end += 1
            word = text[index:end]
            upper = word.upper()
            if upper in KEYWORDS:
                tokens.append(Token("keyword", upper, column))
            else:
                tokens.append(Token("name", word, column))
            index = end
        else:
            raise faults.query_parse_error(ch, column)
    tokens.append(Token("eof", "<EOF>", length + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, expecting: str) -> faults.QboFault:
        token = self.current
        shown = token.text.upper() if token.kind == "keyword" else token.text
        return faults.query_parse_error(shown, token.column, expecting)

    def accept_keyword(self, word: str) -> bool:
        if self.current.kind == "keyword" and self.current.text == word:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.accept_keyword(word):
            raise self.fail(f'"{word}"')

    def expect(self, kind: Kind, expecting: str) -> Token:
        token = self.current
        if token.kind != kind:
            raise self.fail(expecting)
        self.pos += 1
        return token

    def integer(self) -> int:
        token = self.expect("number", "<INTEGER>")
        value = token.value
        if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 0:
            raise faults.query_parse_error(token.text, token.column, "<INTEGER>")
        return int(value)

    def value(self) -> Value:
        token = self.current
        if token.kind in ("string", "number"):
            self.pos += 1
            assert token.value is not None
            return token.value
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            self.pos += 1
            return token.text == "TRUE"
        raise self.fail("<STRING>, <NUMBER>, true, false")

    def condition(self) -> Condition:
        name = self.expect("name", "<PROPERTY>")
        token = self.current
        if token.kind == "op" and token.text in ("=", "<", ">", "<=", ">="):
            self.pos += 1
            return Condition(name.text, token.text, (self.value(),), name.column)
        if self.accept_keyword("IN"):
            self.expect("(", '"("')
            values = [self.value()]
            while self.current.kind == ",":
                self.pos += 1
                values.append(self.value())
            self.expect(")", '")"')
            return Condition(name.text, "IN", tuple(values), name.column)
        if self.accept_keyword("LIKE"):
            pattern = self.expect("string", "<STRING>")
            assert isinstance(pattern.value, str)
            return Condition(name.text, "LIKE", (pattern.value,), name.column)
        raise self.fail('"=", "<", ">", "<=", ">=", "IN", "LIKE"')

    def selection(self) -> tuple[bool, tuple[str, ...]]:
        if self.accept_keyword("COUNT"):
            self.expect("(", '"("')
            self.expect("*", '"*"')
            self.expect(")", '")"')
            return True, ()
        self.expect("*", '"*", "COUNT"')
        extra: list[str] = []
        while self.current.kind == ",":  # `SELECT *, Sku` as python-quickbooks sends it
            self.pos += 1
            extra.append(self.expect("name", "<PROPERTY>").text)
        return False, tuple(extra)

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        count, extra = self.selection()
        self.expect_keyword("FROM")
        entity = self.expect("name", "<ENTITY>").text
        conditions: list[Condition] = []
        if self.accept_keyword("WHERE"):
            conditions.append(self.condition())
            while self.accept_keyword("AND"):
                conditions.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.accept_keyword("ORDERBY"):
            while True:
                name = self.expect("name", "<PROPERTY>").text
                descending = self.accept_keyword("DESC")
                if not descending:
                    self.accept_keyword("ASC")
                order.append((name, descending))
                if self.current.kind != ",":
                    break
                self.pos += 1
        start = self.integer() if self.accept_keyword("STARTPOSITION") else None
        maximum = self.integer() if self.accept_keyword("MAXRESULTS") else None
        if self.current.kind != "eof":
            raise self.fail("<EOF>")
        return Query(entity, count, tuple(conditions), tuple(order), start, maximum, extra)


@lru_cache(maxsize=4096)  # pollers repeat the same texts; a Query is immutable
def parse_query(text: str) -> Query:
    """Parse one query; raises :class:`~emulators.quickbooks.faults.QboFault` code 4000."""
    return _Parser(text).query()
