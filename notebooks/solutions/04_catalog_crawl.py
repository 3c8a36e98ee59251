"""Solutions of notebook 04's exercises: table versions and partition key types."""
from __future__ import annotations

import lakekit as lk
from lakekit import catalog, deploy


def solve_04_1() -> int:
    """The oldest version of weather whose columns include feels_like."""
    versions = catalog.table_versions(lk.client("glue"), deploy.outputs()["DatabaseName"], "weather")
    having = versions[versions["column_names"].map(lambda names: "feels_like" in names)]
    return int(having["version"].min())


def solve_04_2() -> str:
    """Partition keys come from folder names: the crawler types them string."""
    table = lk.client("glue").get_table(DatabaseName=deploy.outputs()["DatabaseName"], Name="flights")["Table"]
    return next(k["Type"] for k in table["PartitionKeys"] if k["Name"] == "month")
