"""Solution of notebook 05's exercise: a data cells filter for LGA departures without tailnum.

Remove it again with ``lakekit.exercises.tidy("05")`` (the notebook's last exercise cell does).
"""
from __future__ import annotations

import lakekit as lk
from lakekit import deploy, exercises


def solve_05_1() -> str:
    lf = lk.client("lakeformation")
    account = lk.client("sts").get_caller_identity()["Account"]
    db = deploy.outputs()["DatabaseName"]
    try:
        lf.create_data_cells_filter(TableData={
            "TableCatalogId": account, "DatabaseName": db, "TableName": "flights",
            "Name": exercises.LGA_FILTER, "RowFilter": {"FilterExpression": "origin = 'LGA'"},
            "ColumnWildcard": {"ExcludedColumnNames": ["tailnum"]}})
    except lf.exceptions.AlreadyExistsException:
        pass  # created by an earlier run of this solution
    return exercises.LGA_FILTER
