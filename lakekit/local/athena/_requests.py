"""What Athena decides about a statement before it runs: parameters, prepared statements, syntax.

Pure functions (no catalog, no HTTP) that ``StartQueryExecution`` calls:

- :func:`placeholders` / :func:`bind`: the ``?`` execution parameters. Athena substitutes each value
  into the statement exactly as given (a string value carries its own quotes: ``'UA'``; a bare
  ``UA`` becomes an identifier), in the order the placeholders occur. A count mismatch is a FAILED
  query ("Incorrect number of parameters: expected 2 but found 1", ErrorType 1006), not a refused
  request.
- :func:`prepared_statement`: ``PREPARE name FROM stmt``, ``EXECUTE name [USING v1, ...]``,
  ``DEALLOCATE PREPARE name`` split into their parts.
- :func:`syntax_error`: the errors Athena's Trino parser raises at ``StartQueryExecution``
  (``InvalidRequestException`` "line 1:8: mismatched input ..."; "backquoted identifiers are not
  supported; use double quotes to quote identifiers") for the statements Trino parses (SELECT,
  WITH, VALUES, INSERT, CTAS, CREATE VIEW, EXPLAIN, PREPARE/EXECUTE). Hive DDL (CREATE EXTERNAL
  TABLE, MSCK, ALTER TABLE, DROP TABLE, SHOW, DESCRIBE) accepts backticks and fails later.
- :func:`hive_context_database`: the ``QueryExecutionContext.Database`` a Hive DDL statement runs
  in - Hive's parser takes a backquoted name there too (awswrangler's ``describe_table``,
  ``repair_table`` and ``show_create_table`` send ```db```); Trino statements get it as given.
- :func:`reusable`: whether a SELECT may reuse a previous result (no ``rand()``/``shuffle()``,
  no ``LIMIT`` without ``ORDER BY``).

Example::

    placeholders("SELECT * FROM t WHERE a = ? AND b = '?'")   # 1
    bind("SELECT * FROM t WHERE a = ?", ["'x'"])               # "SELECT * FROM t WHERE a = 'x'"
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from ._errors import USER_ERROR, AthenaQueryError

__all__ = ["PARAMETER_ERROR_TYPE", "EXPECTING", "BACKQUOTE_MESSAGE", "Prepared", "placeholders", "bind",
           "parameter_count_error", "prepared_statement", "split_values", "syntax_error", "reusable",
           "strip_comments", "hive_context_database"]

PARAMETER_ERROR_TYPE = 1006  # AthenaError.ErrorType of "Incorrect number of parameters"
EXPECTING = ("'ALTER', 'ANALYZE', 'CALL', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DESC', 'DESCRIBE', "
             "'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', 'PREPARE', 'REFRESH', 'RESET', "
             "'REVOKE', 'ROLLBACK', 'SET', 'SHOW', 'START', 'TRUNCATE', 'UNLOAD', 'UPDATE', 'USE', 'WITH', "
             "<query>")
BACKQUOTE_MESSAGE = "backquoted identifiers are not supported; use double quotes to quote identifiers"
_STATEMENT_WORDS = {"ALTER", "ANALYZE", "CALL", "COMMIT", "CREATE", "DEALLOCATE", "DELETE", "DESC", "DESCRIBE",
                    "DROP", "EXECUTE", "EXPLAIN", "GRANT", "INSERT", "MERGE", "PREPARE", "REFRESH", "RESET",
                    "REVOKE", "ROLLBACK", "SET", "SHOW", "START", "TRUNCATE", "UNLOAD", "UPDATE", "USE", "WITH",
                    "SELECT", "VALUES", "TABLE", "MSCK", "OPTIMIZE", "VACUUM"}
_TRINO_FIRST = {"SELECT", "WITH", "VALUES", "TABLE", "INSERT"}
_NONDETERMINISTIC = {"rand", "random", "shuffle", "uuid"}


def _tokens(sql: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) spans of ``sql``: 'str' literals, 'dq' identifiers, 'bq' backquoted, comments,
    '?' placeholders and plain text; what the scanners below need, nothing more."""
    out: list[tuple[str, int, int]] = []
    i, n, plain = 0, len(sql), 0
    while i < n:
        ch = sql[i]
        kind = {"'": "str", '"': "dq", "`": "bq"}.get(ch)
        if kind is not None:
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(("text", plain, i))
            out.append((kind, i, min(j + 1, n)))
            i = plain = min(j + 1, n)
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(("text", plain, i))
            out.append(("comment", i, j))
            i = plain = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(("text", plain, i))
            out.append(("comment", i, j))
            i = plain = j
        elif ch == "?":
            out.append(("text", plain, i))
            out.append(("?", i, i + 1))
            i = plain = i + 1
        else:
            i += 1
    out.append(("text", plain, n))
    return [t for t in out if t[2] > t[1]]


def placeholders(sql: str) -> int:
    """How many ``?`` parameters the statement has (outside literals, quoted identifiers, comments)."""
    return sum(1 for kind, _, _ in _tokens(sql) if kind == "?")


def parameter_count_error(expected: int, found: int) -> AthenaQueryError:
    """Athena's FAILED reason when the values do not match the placeholders."""
    err = AthenaQueryError(USER_ERROR, "INVALID_PARAMETER_USAGE",
                           f"Incorrect number of parameters: expected {expected} but found {found}")
    err.error_type_code = PARAMETER_ERROR_TYPE
    return err


def bind(sql: str, values: list[str]) -> str:
    """Substitute ``values`` (as given, in order) for the ``?`` placeholders; raises
    :func:`parameter_count_error` when the counts differ."""
    expected = placeholders(sql)
    if expected != len(values):
        raise parameter_count_error(expected, len(values))
    out, k = [], 0
    for kind, a, b in _tokens(sql):
        if kind == "?":
            out.append(str(values[k]))
            k += 1
        else:
            out.append(sql[a:b])
    return "".join(out)


def strip_comments(sql: str) -> str:
    """The statement without leading comments and the trailing ``;``."""
    s = sql.strip()
    while True:
        if s.startswith("--"):
            s = s.split("\n", 1)[1].lstrip() if "\n" in s else ""
        elif s.startswith("/*") and "*/" in s:
            s = s.split("*/", 1)[1].lstrip()
        else:
            return s.rstrip().rstrip(";").rstrip()


@dataclass
class Prepared:
    """A prepared-statement command: ``kind`` PREPARE | EXECUTE | DEALLOCATE."""

    kind: str
    name: str
    statement: str = ""  # PREPARE: the statement text
    using: list[str] | None = None  # EXECUTE ... USING: the value expressions as written


_NAME = r"([A-Za-z_][\w]*|\"(?:[^\"]|\"\")+\")"


def prepared_statement(sql: str) -> Prepared | None:
    """The PREPARE/EXECUTE/DEALLOCATE PREPARE command in ``sql``, or None for any other statement."""
    text = strip_comments(sql)
    flags = re.IGNORECASE | re.DOTALL
    m = re.match(rf"PREPARE\s+{_NAME}\s+FROM\s+(.+)$", text, flags)
    if m:
        return Prepared("PREPARE", _unquote(m.group(1)), m.group(2).strip())
    m = re.match(rf"EXECUTE\s+{_NAME}(?:\s+USING\s+(.+))?$", text, flags)
    if m:
        return Prepared("EXECUTE", _unquote(m.group(1)), using=split_values(m.group(2)) if m.group(2) else None)
    m = re.match(rf"DEALLOCATE\s+PREPARE\s+{_NAME}$", text, flags)
    if m:
        return Prepared("DEALLOCATE", _unquote(m.group(1)))
    return None


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


def split_values(text: str) -> list[str]:
    """``1, 'a,b', array[1, 2]`` -> ["1", "'a,b'", "array[1, 2]"] (commas at depth 0, outside literals)."""
    out, depth, cur = [], 0, []
    for kind, a, b in _tokens(text):
        piece = text[a:b]
        if kind != "text":
            cur.append(piece)
            continue
        for ch in piece:
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            if ch == "," and depth == 0:
                out.append("".join(cur).strip())
                cur = []
            else:
                cur.append(ch)
    out.append("".join(cur).strip())
    return [v for v in out if v]


def _pos(sql: str, offset: int) -> tuple[int, int]:
    before = sql[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _trino_parsed(text: str) -> bool:
    """Whether Athena parses this statement with Trino (else with Hive's DDL parser)."""
    m = re.match(r"[(\s]*([A-Za-z_]+)(?:\s+([A-Za-z_]+))?(?:\s+([A-Za-z_]+))?", text)
    if m is None:
        return True
    words = [(w or "").upper() for w in m.groups()]
    if words[0] in _TRINO_FIRST or words[0] in ("EXPLAIN", "PREPARE", "EXECUTE", "DEALLOCATE"):
        return True
    if words[0] == "CREATE":
        if words[1] == "VIEW" or (words[1] == "OR" and words[2] == "REPLACE"):
            return True
        return words[1] == "TABLE" and re.search(r"\bAS\s*\(*\s*(SELECT|WITH|VALUES|TABLE)\b", text,
                                                 re.IGNORECASE) is not None
    return False


_HIVE_DDL_FIRST = {"MSCK", "DESCRIBE", "DESC", "SHOW", "ALTER", "DROP", "CREATE"}


def hive_context_database(sql: str, database: str | None) -> str | None:
    """``database`` without its backquotes when ``sql`` is Hive DDL (backquoted ``db`` -> ``db``), else as given."""
    if not database or len(database) < 3 or not (database.startswith("`") and database.endswith("`")):
        return database
    text = strip_comments(sql)
    m = re.match(r"[(\s]*([A-Za-z_]+)", text)
    if m is None or m.group(1).upper() not in _HIVE_DDL_FIRST or _trino_parsed(text):
        return database
    return database[1:-1]


def syntax_error(sql: str) -> str | None:
    """The message of the ``InvalidRequestException`` Athena answers ``StartQueryExecution`` with for a
    statement its parser rejects, or None when the statement parses (it may still fail later)."""
    text = strip_comments(sql)
    offset = sql.find(text[:1]) if text else 0
    if not text:
        line, col = _pos(sql, len(sql.rstrip().rstrip(";")))
        return f"line {line}:{col}: mismatched input '<EOF>'. Expecting: {EXPECTING}"
    first = re.match(r"[(\s]*([A-Za-z_]+)", text)
    if first is None or first.group(1).upper() not in _STATEMENT_WORDS:
        tok = first.group(1) if first else text.split()[0]
        line, col = _pos(sql, offset + (first.start(1) if first else 0))
        return f"line {line}:{col}: mismatched input '{tok}'. Expecting: {EXPECTING}"
    if not _trino_parsed(text):
        return None
    prep = prepared_statement(text)
    if prep is not None:
        if prep.kind != "PREPARE":
            return None
        inner = sql.find(prep.statement[:20]) if prep.statement else -1
        found = syntax_error(prep.statement)
        if found is None or inner < 0:
            return found
        return _shift(found, sql, inner)
    for kind, a, _ in _tokens(sql):
        if kind == "bq":
            line, col = _pos(sql, a)
            return f"line {line}:{col}: {BACKQUOTE_MESSAGE}"
    return _parse_error(text, sql, offset)


def _shift(message: str, sql: str, inner: int) -> str:
    """Re-base a ``line L:C:`` position found in a nested statement onto the enclosing ``sql``."""
    m = re.match(r"line (\d+):(\d+): (.*)$", message, re.DOTALL)
    if not m:
        return message
    base_line, base_col = _pos(sql, inner)
    line, col = int(m.group(1)), int(m.group(2))
    col = col + base_col - 1 if line == 1 else col
    return f"line {line + base_line - 1}:{col}: {m.group(3)}"


def _parse_error(text: str, sql: str, offset: int) -> str | None:
    try:
        asts = [a for a in sqlglot.parse(text, read="athena") if a is not None]
    except sqlglot.errors.ParseError as ex:
        err = ex.errors[0] if ex.errors else {}
        hl = err.get("highlight") or ""
        line = err.get("line", 1)
        col = max(1, (err.get("col") or 1) - len(hl) + 1)
        if line == 1:
            base_line, base_col = _pos(sql, offset)
            line, col = base_line, col + base_col - 1
        tok = hl or "<EOF>"
        return f"line {line}:{col}: mismatched input '{tok}'. Check the SQL near '{tok}'."
    except sqlglot.errors.TokenError as ex:
        return f"line 1:1: {ex}"
    if len(asts) > 1:
        return f"line 1:1: Only one sql statement is allowed. Got: {len(asts)}"
    return None


def reusable(sql: str) -> bool:
    """Whether Athena may answer this SELECT from a previous result: deterministic (no ``rand()``,
    ``random()``, ``shuffle()``, ``uuid()``, ``TABLESAMPLE``, no ``LIMIT`` without ``ORDER BY``)."""
    try:
        ast = sqlglot.parse_one(strip_comments(sql), read="athena")
    except sqlglot.errors.SqlglotError:
        return False
    if not isinstance(ast, exp.Query):
        return False
    if ast.find(exp.Rand, exp.Shuffle, exp.TableSample, exp.Uuid) is not None:
        return False
    for fn in ast.find_all(exp.Anonymous):
        if str(fn.this).lower() in _NONDETERMINISTIC:
            return False
    for node in [ast, *ast.find_all(exp.Select)]:
        if node.args.get("limit") is not None and node.args.get("order") is None:
            return False
    return True
