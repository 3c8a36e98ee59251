"""The course scaffolding and the exercises' checks, without a lake.

Every notebook has a course header (objectives, what is built, prerequisites, times) and a
diagram cell right after its parameters; 02-06 end with their exercises (task, ``answer = None``,
``check``) and every notebook with a "What you learned" cell, as one block at the end. A check
answers None with a hint, and a malformed answer with WRONG and why, before reading any lake.
"""
from __future__ import annotations

import ast
import gzip
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from lakekit import diagram, exercises, workshop
from lakekit.lambdas.ingest.ingest_validate import FLIGHTS_COLUMNS, REASON_CODES

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "notebooks" / "solutions"
BOOKS = {p.name[:2]: p for p in workshop.notebooks()}
UNREACHABLE = {"LAKEKIT_TARGET": "local", "LAKEKIT_PORT": "9", "LAKEKIT_PREFIX": "nolake"}


def _nb(num: str):
    return nbformat.read(BOOKS[num], as_version=4)


def _solution(num: str):
    path = next(SOLUTIONS.glob(f"{num}_*.py"))
    spec = importlib.util.spec_from_file_location(f"solution_{num}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("num", sorted(BOOKS))
def test_header_and_diagram(num):
    nb = _nb(num)
    head = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and head.startswith(f"# {num} ")
    for part in ("**In this module you will**", "**At the end you will have built:**",
                 "**Prerequisites:**", "**Time:** locally ", "on AWS about "):
        assert part in head, f"{num}: header lacks {part!r}"
    assert "(not measured yet)" not in head
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []) and "diagram.show(" in code[1].source
    shown = re.search(r'diagram\.show\((?:highlight="(\w+)")?\)', code[1].source)
    assert shown and (shown.group(1) is None or shown.group(1) in diagram.PARTS), code[1].source


def test_setup_has_the_agenda_of_every_module():
    head = _nb("00").cells[0].source
    assert "## Agenda" in head
    for num in BOOKS:
        assert re.search(rf"^\| {num} \| .+ \| \d+ (s|min)", head, flags=re.M), f"agenda lacks {num}"


@pytest.mark.parametrize("num", sorted(BOOKS))
def test_closing_block_is_contiguous_at_the_end(num):
    nb = _nb(num)
    ids = [c.get("id") or "" for c in nb.cells]
    end = len(ids) - 2 if ids[-2:] == [f"cost-{num}-md", f"cost-{num}-code"] else len(ids)  # the step's cost last
    ours = [i for i, cid in enumerate(ids) if cid.startswith(f"ex{num}") or cid == f"learned{num}"]
    assert ids[end - 1] == f"learned{num}" and ours == list(range(ours[0], end)), ids[-8:]
    assert "**Check your understanding**" in nb.cells[end - 1].source
    wanted = sorted(e for e in exercises.EXERCISES if e.startswith(num + "."))
    assert bool(wanted) == (num in {"02", "03", "04", "05", "06"})
    checks = [c.source for c in nb.cells if c.cell_type == "code" and "exercises.check(" in c.source]
    assert checks == [f'exercises.check("{e}", answer)' for e in wanted]
    for cell in nb.cells[ours[0]:]:
        assert len(cell.source.splitlines()) <= 20, cell.source
    placeholders = [c for c in nb.cells if "answer = None  # your code here" in c.source]
    assert len(placeholders) == len(wanted)


@pytest.mark.parametrize("ex", sorted(exercises.EXERCISES))
def test_every_exercise_has_a_solution(ex):
    module = _solution(ex[:2])
    assert callable(getattr(module, f"solve_{ex.replace('.', '_')}")), f"{ex}: no solve function"


@pytest.mark.parametrize("ex", sorted(exercises.EXERCISES))
def test_not_attempted_prints_the_hint(ex, capsys):
    verdict = exercises.check(ex, None)
    printed = capsys.readouterr().out
    assert verdict.status == "not attempted" and not verdict.ok
    assert printed.startswith(f"{ex} not attempted. Task: ") and "Hint: " in printed


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(exercises.ExerciseError, match=r"no exercise '07.1': the exercises are 02.1, 02.2"):
        exercises.check("07.1", 1)


@pytest.mark.parametrize(("ex", "answer", "why"), [
    ("02.1", "semicolons", "'semicolons' is not one of the ingest Lambda's reason codes"),
    ("02.2", 7, "7 is not one of the ingest Lambda's reason codes"),
    ("05.1", "jfk_departures", "name the filter 'lga_departures'"),
    ("06.1", 42, "answer with the SQL text of one SELECT query, not 42"),
    ("06.1", "DROP TABLE flights", "answer with the SQL text of one SELECT query"),
])
def test_malformed_answer_is_wrong_without_a_lake(ex, answer, why, monkeypatch, capsys):
    for key, value in UNREACHABLE.items():  # port 9: any call to a lake would fail loudly
        monkeypatch.setenv(key, value)
    verdict = exercises.check(ex, answer)
    assert verdict.status == "wrong" and why in verdict.message, verdict
    assert capsys.readouterr().out.startswith(f"{ex} WRONG. ")


def test_material_is_what_the_exercises_say():
    key, body = exercises.material("02.1")
    lines = body.decode().splitlines()
    assert key.startswith("flights/") and lines[0].split(",") == FLIGHTS_COLUMNS
    widths = [len(line.split(",")) for line in lines[1:]]
    assert widths.count(len(FLIGHTS_COLUMNS) - 1) == 1 and widths.count(len(FLIGHTS_COLUMNS)) == 19
    key, body = exercises.material("02.2")
    assert key.endswith(".jsonl.gz") and body[:2] == b"\x1f\x8b"
    with pytest.raises(EOFError):
        gzip.decompress(body)
    assert {"bad_row", "gzip_truncated"} <= set(REASON_CODES)
    with pytest.raises(exercises.ExerciseError, match="has no file"):
        exercises.material("03.1")


def test_offline_solutions_agree_with_the_material():
    mod = _solution("02")
    assert (mod.solve_02_1(), mod.solve_02_2()) == ("bad_row", "gzip_truncated")
    sql = _solution("06").solve_06_1()
    assert ast.literal_eval(repr(sql)).lower().startswith("select")
