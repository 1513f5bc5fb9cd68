"""Read the SQL text a connection actually sent: what kind of statement it is, and its LIMIT.

Checks grade the statement text SQLite ran (the trace callback gives it with the parameters
already expanded), not keywords found anywhere in it: ``WITH v AS (...) INSERT ...`` is a write
although it starts with WITH, ``LIMIT 40, 20`` skips 40 rows although the word OFFSET never
appears, and ``'ORDER BY id LIMIT 1'`` inside a string literal is no clause at all. A small
tokenizer (strings, quoted names, comments, parentheses) makes those distinctions.

>>> statement_kind("WITH v(a) AS (SELECT 1) INSERT INTO t SELECT a FROM v")
'INSERT'
>>> limit_clause("SELECT id FROM posts ORDER BY id LIMIT 40, 20")
LimitClause(limit=20, offset=40)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "WRITE_KINDS",
    "LimitClause",
    "is_write",
    "limit_clause",
    "limit_clauses",
    "statement_kind",
    "tokens",
]

WRITE_KINDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})
"""Statement kinds that change the database (each outside a transaction is its own one)."""

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^']|'')*'?)
  | (?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "string" | "quoted" | "number" | "word" | "other"
    text: str
    depth: int  # parentheses open around the token
    start: int = 0  # where the token starts in the statement text

    @property
    def keyword(self) -> str:
        """Upper-cased text of a bare word ("" for anything else)."""
        return self.text.upper() if self.kind == "word" else ""


def tokens(sql: str) -> list[Token]:
    """The statement's tokens without spaces and comments, each with its parenthesis depth."""
    found: list[Token] = []
    depth = 0
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        if kind in ("space", "line_comment", "block_comment"):
            continue
        text = match.group()
        if text == ")":
            depth = max(0, depth - 1)
        found.append(Token(kind, text, depth, match.start()))
        if text == "(":
            depth += 1
    return found


def statement_kind(sql: str) -> str:
    """``SELECT``, ``INSERT``, ``BEGIN``…: the statement's own verb, after any WITH clause."""
    toks = tokens(sql)
    if not toks:
        return ""
    first = toks[0].keyword
    if first != "WITH":
        return first
    # WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (...) [, ...] <verb>
    for token in toks[1:]:
        if token.depth == 0 and token.keyword in {"SELECT", "VALUES", *WRITE_KINDS}:
            return token.keyword
    return "WITH"


def is_write(sql: str) -> bool:
    """True when the statement changes the database (``WITH ... INSERT`` included)."""
    return statement_kind(sql) in WRITE_KINDS


@dataclass(frozen=True)
class LimitClause:
    """One ``LIMIT`` clause: its row count and how many rows it skips (``None`` if not a number).

    ``LIMIT n OFFSET m`` and SQLite's ``LIMIT m, n`` (offset first!) both give
    ``LimitClause(limit=n, offset=m)``; a clause without an offset has ``offset=0``.
    """

    limit: int | None
    offset: int | None = 0

    @property
    def skips_rows(self) -> bool:
        """The clause walks past rows it throws away (any offset that is not a literal 0)."""
        return self.offset != 0


def _number(toks: list[Token]) -> int | None:
    """The value of a clause argument that is one integer literal (optionally signed)."""
    texts = [t.text for t in toks]
    if len(texts) == 2 and texts[0] in "+-" and toks[1].kind == "number":
        texts = [texts[0] + texts[1]]
    elif len(toks) != 1 or toks[0].kind != "number":
        return None
    try:
        return int(texts[0])
    except ValueError:
        return None


def limit_clauses(sql: str) -> list[LimitClause]:
    """Every LIMIT clause in the statement (sub-queries included), outermost first."""
    toks = tokens(sql)
    found: list[tuple[int, LimitClause]] = []
    for i, token in enumerate(toks):
        if token.keyword != "LIMIT":
            continue
        depth = token.depth
        parts: list[list[Token]] = [[]]
        separator = ""
        for nxt in toks[i + 1 :]:
            if nxt.depth < depth or (nxt.depth == depth and nxt.text in (")", ";")):
                break
            if nxt.depth == depth and nxt.keyword in {"UNION", "EXCEPT", "INTERSECT"}:
                break
            if (
                nxt.depth == depth
                and (nxt.text == "," or nxt.keyword == "OFFSET")
                and not separator
            ):
                separator = nxt.text.upper()
                parts.append([])
                continue
            if nxt.depth == depth and nxt.text == ",":
                break  # a comma after the clause belongs to an enclosing list
            parts[-1].append(nxt)
        if len(parts) == 1:
            clause = LimitClause(_number(parts[0]), 0)
        elif separator == ",":  # LIMIT <offset>, <count>
            clause = LimitClause(_number(parts[1]), _number(parts[0]))
        else:
            clause = LimitClause(_number(parts[0]), _number(parts[1]))
        found.append((depth, clause))
    return [clause for _, clause in sorted(found, key=lambda pair: pair[0])]


def limit_clause(sql: str) -> LimitClause | None:
    """The statement's outermost LIMIT clause, or ``None`` when it has none."""
    clauses = limit_clauses(sql)
    return clauses[0] if clauses else None
