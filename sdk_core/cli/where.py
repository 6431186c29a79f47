"""The short filter form people type: `status=1 and (priority in (1,2) or title~printer)`.

It compiles to the same `Q` expressions as Python code, so the catalog checks (field names,
operators, timestamps) run on it before a request is spent. Grammar, loosest first:

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "(" expr ")" | FIELD OP VALUE | FIELD ("in"|"not in") "(" VALUE, ... ")"
            | FIELD "exists" | FIELD "not exists"
    OP     := = != > >= < <= ~ (contains) ^= (begins with) $= (ends with)

A field written `udf.Name` is a user-defined field. Values are numbers, true/false, 'quoted' or
"quoted" text, or bare words (dates such as 2026-01-01 included). A whole argument that starts
with `[` or `{` is Autotask filter JSON and is passed through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from .._query import Expr, Q
from ..errors import QueryError

__all__ = ["parse_where"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
      | (?P<op>!=|>=|<=|\^=|\$=|=|>|<|~)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()=!<>~,'"^$]+)
    )""",
    re.VERBOSE,
)
_OPS = {
    "=": "eq",
    "!=": "noteq",
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
    "~": "contains",
    "^=": "beginsWith",
    "$=": "endsWith",
}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_where(text: str) -> Any:
    """A filter for `Entity.query` from the short form (or JSON passed through)."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise QueryError(f"--where looks like JSON but is not: {exc}") from None
    parser = _Parser(_tokens(stripped))
    expr = parser.expr()
    extra = parser.peek()
    if extra is not None:
        raise QueryError(
            f"--where: unexpected {extra[1]!r} after a complete condition; join conditions with 'and' or 'or'"
        )
    return expr


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(
                f"--where: cannot read {text[pos:]!r}; quote text that holds spaces "
                "or symbols, e.g. title~'VPN down'"
            )
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("--where ends too early: a condition is FIELD OP VALUE, e.g. status=1")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the words (case-insensitive) if they come next."""
        ahead = self.tokens[self.pos : self.pos + len(words)]
        if len(ahead) == len(words) and all(
            k == "word" and v.lower() == w for (k, v), w in zip(ahead, words)
        ):
            self.pos += len(words)
            return True
        return False

    def expr(self) -> Expr:
        left = self.term()
        while self.keyword("or"):
            left = left | self.term()
        return left

    def term(self) -> Expr:
        left = self.factor()
        while self.keyword("and"):
            left = left & self.factor()
        return left

    def factor(self) -> Expr:
        kind, value = self.take()
        if kind == "lparen":
            inner = self.expr()
            if self.take()[0] != "rparen":
                raise QueryError("--where: a '(' is not closed")
            return inner
        if kind != "word":
            raise QueryError(f"--where: expected a field name, found {value!r}")
        field = _field(value)
        if self.keyword("not", "exists") or self.keyword("notexists"):
            return field.not_exists()
        if self.keyword("exists"):
            return field.exists()
        if self.keyword("not", "in") or self.keyword("notin"):
            return field.not_in(self.values())
        if self.keyword("in"):
            return field.in_(self.values())
        op_kind, op = self.take()
        if op_kind != "op":
            raise QueryError(
                f"--where: expected an operator after {value!r} "
                f"(one of {' '.join(_OPS)}, in, exists), found {op!r}"
            )
        return field._cmp(_OPS[op], self.value())

    def values(self) -> list[Any]:
        if self.take()[0] != "lparen":
            raise QueryError("--where: 'in' takes a list in parentheses, e.g. status in (1,5)")
        items = [self.value()]
        while True:
            kind, token = self.take()
            if kind == "rparen":
                return items
            if kind != "comma":
                raise QueryError(f"--where: expected ',' or ')' in a list, found {token!r}")
            items.append(self.value())

    def value(self) -> Any:
        kind, token = self.take()
        if kind == "string":
            return token[1:-1].encode().decode("unicode_escape") if "\\" in token else token[1:-1]
        if kind != "word":
            raise QueryError(f"--where: expected a value, found {token!r}")
        lowered = token.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if _NUMBER.fullmatch(token):
            return float(token) if "." in token else int(token)
        return token


def _field(name: str) -> Q:
    if name.lower().startswith("udf."):
        return Q(name[4:], udf=True)
    return Q(name)
