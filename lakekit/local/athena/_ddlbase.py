"""What the local Athena's DDL and write statements share: errors, empty results, Glue storage descriptors."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from lakekit.local.glue.schema import FORMATS, hive_format

from ._errors import USER_ERROR, AthenaQueryError

if TYPE_CHECKING:
    from .engine import QueryEngine, QueryResult

__all__ = ["LAZY_SERDE", "ID", "NAME", "err", "split_name", "lines_result", "empty", "require_table", "like",
           "storage", "classification", "prop_value", "add_partitions", "check_output_columns", "statement_pos"]

LAZY_SERDE = FORMATS["csv"]["SerializationLibrary"]

ID = r'(?:`[^`]+`|"[^"]+"|[\w-]+)'
NAME = rf"({ID}(?:\s*\.\s*{ID}){{0,2}})"


def err(kind: str, msg: str) -> AthenaQueryError:
    return AthenaQueryError(USER_ERROR, kind, f"{kind}: {msg}")


def split_name(raw: str, database: str) -> tuple[str, str]:
    parts = [p.strip().strip('`"').lower() for p in re.findall(ID, raw)]
    if len(parts) == 3:
        if parts[0] != "awsdatacatalog":
            raise err("CATALOG_NOT_FOUND", f"Catalog '{parts[0]}' does not exist")
        parts = parts[1:]
    if len(parts) == 2:
        return parts[0], parts[1]
    return database.lower(), parts[0]


def lines_result(engine: QueryEngine, st: str, sub: str, column: str, lines: list[str]) -> QueryResult:
    return engine._result(st, sub, pa.table({column: pa.array(lines, pa.string())}), header=False)


def empty(engine: QueryEngine, sub: str) -> QueryResult:
    return engine._result("DDL", sub, pa.table({}), header=False)


def require_table(engine: QueryEngine, db: str, name: str) -> dict:
    table = engine.get_table(db, name)
    if table is None:
        raise err("TABLE_NOT_FOUND", f"line 1:1: Table '{'awsdatacatalog'}.{db}.{name}' does not exist")
    return table


def like(pattern: str | None, name: str) -> bool:
    if not pattern:
        return True
    alts = pattern.split("|")
    return any(re.fullmatch(a.strip().replace("*", ".*"), name, re.IGNORECASE) for a in alts)


def storage(fmt: str, location: str, columns: list[dict], serde: str | None = None,
             serde_params: dict[str, str] | None = None, input_format: str | None = None,
             output_format: str | None = None) -> dict:
    fmt = fmt.upper()
    if fmt == "PARQUET":
        sd = hive_format("parquet", {"serialization.format": "1"})
    elif fmt == "JSON":
        sd = hive_format("json")
    else:
        sd = hive_format("csv", {"field.delim": ",", "serialization.format": ","})
    if serde:
        sd["SerdeInfo"] = {"SerializationLibrary": serde, "Parameters": {}}
    if serde_params:
        sd["SerdeInfo"]["Parameters"] = {**sd["SerdeInfo"].get("Parameters", {}), **serde_params}
    if input_format:
        sd["InputFormat"] = input_format
    if output_format:
        sd["OutputFormat"] = output_format
    sd.update({"Location": location, "Columns": columns, "Compressed": False, "NumberOfBuckets": -1,
               "StoredAsSubDirectories": False, "BucketColumns": [], "SortColumns": []})
    return sd


def classification(sd: dict) -> str:
    lib = sd["SerdeInfo"].get("SerializationLibrary", "").lower()
    if "parquet" in lib or "parquet" in sd.get("InputFormat", "").lower():
        return "parquet"
    if "json" in lib:
        return "json"
    if "orcserde" in lib or ".orc." in sd.get("InputFormat", "").lower():
        return "orc"
    if "avroserde" in lib:
        return "avro"
    return "csv"


def prop_value(p: exp.Expression) -> Any:
    v = p.args.get("value")
    if v is None:
        v = p.this
    if isinstance(v, exp.Array):
        return [x.name for x in v.expressions]
    if isinstance(v, exp.Literal):
        return v.name
    if isinstance(v, (exp.Var, exp.Identifier)):
        return v.name
    return v.sql()


def add_partitions(engine: QueryEngine, db: str, name: str, sd: dict, keys: list[dict],
                    parts: list[dict[str, str]], location: str) -> int:
    """Create missing Glue partitions for written key=value folders; returns how many were added."""
    if not keys or not parts:
        return 0
    existing = {tuple(p["Values"]) for p in engine.get_partitions(db, name)}
    inputs = []
    for vals in parts:
        values = [vals[k["Name"]] for k in keys]
        if tuple(values) in existing:
            continue
        existing.add(tuple(values))
        rel = "/".join(f"{k['Name']}={v}" for k, v in zip(keys, values))
        psd = {**sd, "Location": f"{location.rstrip('/')}/{rel}/"}
        inputs.append({"Values": values, "StorageDescriptor": psd})
    for i in range(0, len(inputs), 100):
        engine.glue.batch_create_partition(DatabaseName=db, TableName=name, PartitionInputList=inputs[i:i + 100])
    return len(inputs)


def _output_select(e: exp.Expression) -> exp.Expression | None:
    while True:
        if isinstance(e, exp.Subquery):
            e = e.this
        elif isinstance(e, exp.SetOperation):
            e = e.left
        else:
            break
    return e


def _unknown_typed(e: exp.Expression | None, ctes: dict[str, exp.Expression], depth: int = 0) -> bool:
    """Whether Trino types this output expression ``unknown``: a ``NULL`` literal, or a column that
    comes from a subquery / CTE / set operation whose every branch outputs a ``NULL`` there."""
    if e is None or depth > 32:
        return False
    while isinstance(e, (exp.Alias, exp.Paren)):
        e = e.this
    if isinstance(e, exp.Null):
        return True
    if not isinstance(e, exp.Column) or isinstance(e.this, exp.Star):
        return False
    sel = e.find_ancestor(exp.Select)
    if sel is None:
        return False
    sources: list[exp.Expression] = []
    for src in [sel.args.get("from_") or sel.args.get("from"), *(sel.args.get("joins") or [])]:
        node = src.this if src is not None else None
        if isinstance(node, exp.Subquery):
            if not e.table or e.table.lower() == (node.alias_or_name or "").lower():
                sources.append(node.this)
        elif isinstance(node, exp.Table) and not node.db and node.name.lower() in ctes:
            if not e.table or e.table.lower() in (node.alias_or_name.lower(), node.name.lower()):
                sources.append(ctes[node.name.lower()])
    return bool(sources) and all(_branch_unknown(q, e.name.lower(), ctes, depth + 1) for q in sources)


def _branch_unknown(q: exp.Expression, name: str, ctes: dict[str, exp.Expression], depth: int) -> bool:
    while isinstance(q, exp.Subquery):
        q = q.this
    if isinstance(q, exp.SetOperation):
        left = _output_select(q.left)
        if not isinstance(left, exp.Select):
            return False
        names = [x.alias_or_name.lower() for x in left.expressions]
        if name not in names:
            return False
        i = names.index(name)
        branches: list[exp.Expression] = []
        stack: list[exp.Expression] = [q]
        while stack:
            node = stack.pop()
            while isinstance(node, exp.Subquery):
                node = node.this
            if isinstance(node, exp.SetOperation):
                stack += [node.left, node.right]
            else:
                branches.append(node)
        return all(isinstance(b, exp.Select) and len(b.expressions) > i
                   and _unknown_typed(b.expressions[i], {**ctes, **_ctes_of(b)}, depth) for b in branches)
    if not isinstance(q, exp.Select):
        return False
    inner = {**ctes, **_ctes_of(q)}
    for x in q.expressions:
        if x.alias_or_name.lower() == name:
            return _unknown_typed(x, inner, depth)
    return False


def _ctes_of(q: exp.Expression) -> dict[str, exp.Expression]:
    w = q.args.get("with_") or q.args.get("with")
    return {c.alias.lower(): c.this for c in (w.expressions if w is not None else [])}


def statement_pos(source: str) -> str:
    """``line L:C`` of the first token of the statement (after leading blanks/comments), as Trino
    reports a statement-level semantic error."""
    s = source
    i = 0
    while i < len(s):
        if s[i].isspace():
            i += 1
        elif s.startswith("--", i):
            j = s.find("\n", i)
            i = len(s) if j < 0 else j + 1
        elif s.startswith("/*", i) and "*/" in s[i:]:
            i = s.index("*/", i) + 2
        else:
            break
    line = s.count("\n", 0, i) + 1
    col = i - (s.rfind("\n", 0, i) + 1) + 1
    return f"line {line}:{col}"


def check_output_columns(query: exp.Expression, names: list[str], source: str,
                         types: list[pa.DataType] | None = None) -> None:
    """Trino's ``validateColumns`` for CTAS/UNLOAD: every output column named, no name twice, no
    column of unknown type. ``names``: the output names the engine derived (``_colN`` for
    unnamed expressions); ``query``: the SELECT (or set operation / VALUES) as parsed; ``types``:
    the output column types - a NULL-typed column is unknown wherever its NULL came from (a
    literal ``NULL``, ``SELECT x FROM (SELECT NULL AS x)``, a union of NULLs)."""
    pos = statement_pos(source)
    sel = _output_select(query)
    exprs: list[exp.Expression | None]
    if isinstance(sel, exp.Select) and not any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
            for e in sel.expressions) and len(sel.expressions) == len(names):
        exprs = list(sel.expressions)
    elif isinstance(sel, exp.Values):
        exprs = [None] * len(names)
    else:
        exprs = [exp.column(n) for n in names]
    seen: set[str] = set()
    ctes = _ctes_of(query)
    for i, (e, name) in enumerate(zip(exprs, names), start=1):
        named = e is not None and isinstance(e, (exp.Alias, exp.Column, exp.Dot))
        if not named:
            raise err("MISSING_COLUMN_NAME", f"{pos}: Column name not specified at position {i}")
        key = name.lower()
        if key in seen:
            raise err("DUPLICATE_COLUMN_NAME", f"{pos}: Column name '{key}' specified more than once")
        seen.add(key)
        inner = e.this if isinstance(e, exp.Alias) else e
        if (isinstance(inner, exp.Null) or (types is not None and pa.types.is_null(types[i - 1]))
                or _unknown_typed(e, ctes)):
            raise err("COLUMN_TYPE_UNKNOWN", f"{pos}: Column type is unknown: {key}")
