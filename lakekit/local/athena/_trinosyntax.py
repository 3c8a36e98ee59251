"""Trino syntax the local parser (sqlglot -> DuckDB) would otherwise hand to DuckDB, refused before
parsing with Athena's error category, so no DuckDB parser message reaches the user.

- ``x IS [NOT] A SET``, ``a MULTISET UNION|INTERSECT|EXCEPT b``: multiset syntax of Trino releases
  newer than Athena engine version 3; Athena's parser fails with ``SYNTAX_ERROR: line l:c:
  mismatched input ...`` at the token it cannot read (after ``IS``: ``A``; after ``MULTISET UNION``,
  where ``MULTISET`` reads as a column alias: the next operand).
- ``set(x)``: the multiset function of newer Trino: ``FUNCTION_NOT_FOUND ... Function 'set' not
  registered`` (sqlglot reads ``set`` as a keyword).
- ``TABLE(sequence(...))`` (a table function) and ``(row expression).*`` (all fields of a row):
  ``NOT_SUPPORTED`` locally, with what to write instead.
"""
from __future__ import annotations

import logging

from sqlglot.dialects.athena import Athena
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from ._errors import USER_ERROR, AthenaQueryError

__all__ = ["refuse_unsupported_syntax"]

log = logging.getLogger(__name__)

_SETOPS = {"UNION", "INTERSECT", "EXCEPT"}
_BEFORE_CALL = {TokenType.SELECT, TokenType.COMMA, TokenType.L_PAREN, TokenType.PLUS, TokenType.DASH,
                TokenType.STAR, TokenType.SLASH, TokenType.EQ, TokenType.NEQ, TokenType.LT, TokenType.GT,
                TokenType.LTE, TokenType.GTE, TokenType.WHERE, TokenType.AND, TokenType.OR, TokenType.DPIPE}


def _pos(text: str, tok: Token) -> tuple[int, int]:
    before = text[:tok.start]
    return before.count("\n") + 1, tok.start - (before.rfind("\n") + 1) + 1


def _word(tok: Token) -> str:
    return tok.text.upper() if tok.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) else ""


def _syntax(text: str, tok: Token, expecting: str) -> AthenaQueryError:
    line, col = _pos(text, tok)
    return AthenaQueryError(USER_ERROR, "SYNTAX_ERROR",
                            f"line {line}:{col}: mismatched input '{tok.text}'. Expecting: {expecting}")


def _user(kind: str, text: str, tok: Token, message: str) -> AthenaQueryError:
    line, col = _pos(text, tok)
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: line {line}:{col}: {message}")


def refuse_unsupported_syntax(text: str) -> None:
    """Raise the Athena error for the syntax of the module doc found in ``text`` (else return)."""
    try:
        toks = Athena().tokenize(text)
    except TokenError:
        return  # the parser reports it
    words = [_word(t) for t in toks]
    for i, tok in enumerate(toks):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(toks) else ""
        if w == "IS" and (nxt == "A" or (nxt == "NOT" and words[i + 2:i + 3] == ["A"])):
            at = toks[i + 1] if nxt == "A" else toks[i + 2]
            raise _syntax(text, at, "'DISTINCT', 'NULL'" if nxt == "NOT" else "'DISTINCT', 'NOT', 'NULL'")
        if w == "MULTISET" and nxt in _SETOPS and i + 2 < len(toks):
            k = i + 2 + (words[i + 2] in ("ALL", "DISTINCT"))
            if k < len(toks) and toks[k].token_type != TokenType.L_PAREN and words[k] not in ("SELECT", "TABLE", "VALUES"):
                raise _syntax(text, toks[k], "'(', 'SELECT', 'TABLE', 'VALUES'")
        if w == "SET" and nxt == "(" and i > 0 and toks[i - 1].token_type in _BEFORE_CALL:
            raise _user("FUNCTION_NOT_FOUND", text, tok, "Function 'set' not registered")
        if w == "TABLE" and nxt == "(" and i > 0 and words[i - 1] in ("FROM", "JOIN", ","):
            raise _user("NOT_SUPPORTED", text, tok,
                        "Table functions (FROM TABLE(...)) are not available in the local Athena engine; for "
                        "TABLE(sequence(...)) write UNNEST(sequence(start, stop)) AS t(sequential_number), "
                        "or run this query on AWS")
        if tok.token_type == TokenType.DOT and nxt == "*" and i > 0 and toks[i - 1].token_type == TokenType.R_PAREN:
            raise _user("NOT_SUPPORTED", text, toks[i + 1],
                        "Row field expansion (<row expression>.*) is not available in the local Athena engine "
                        "(Athena runs it); select the fields by name (r.a, r.b), or run this query on AWS")
