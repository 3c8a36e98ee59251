"""Data cells filters are regional resources: one created in us-east-1 does not exist in eu-west-1."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from lakekit.local.lakeformation import state
from tests.conftest import NO_RETRY
from tests.lakeformation.conftest import ACCOUNT, DB


def _lf(gov, region: str):
    return boto3.client("lakeformation", endpoint_url=gov.endpoint.url, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test", config=NO_RETRY)


def test_a_filter_created_in_us_east_1_is_not_visible_in_eu_west_1(gov):
    home, away = _lf(gov, "us-east-1"), _lf(gov, "eu-west-1")
    ident = {"TableCatalogId": ACCOUNT, "DatabaseName": DB, "TableName": "flights", "Name": "scope_jfk"}
    home.create_data_cells_filter(TableData={**ident, "RowFilter": {"FilterExpression": "origin = 'JFK'"},
                                             "ColumnWildcard": {}})
    try:
        got = home.get_data_cells_filter(**ident)["DataCellsFilter"]
        assert (got["Name"], got["RowFilter"]["FilterExpression"]) == ("scope_jfk", "origin = 'JFK'")
        assert "scope_jfk" in [f["Name"] for f in home.list_data_cells_filter()["DataCellsFilters"]]
        with pytest.raises(ClientError) as exc:
            away.get_data_cells_filter(**ident)
        assert exc.value.response["Error"]["Code"] == "EntityNotFoundException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert away.list_data_cells_filter()["DataCellsFilters"] == []
        assert away.list_data_cells_filter(
            Table={"CatalogId": ACCOUNT, "DatabaseName": DB, "Name": "flights"})["DataCellsFilters"] == []
        with pytest.raises(ClientError) as exc:
            away.delete_data_cells_filter(**ident)
        assert exc.value.response["Error"]["Code"] == "EntityNotFoundException"
    finally:
        home.delete_data_cells_filter(**ident)
    assert "scope_jfk" not in [f["Name"] for f in home.list_data_cells_filter()["DataCellsFilters"]]


def test_filters_of_an_older_snapshot_get_the_default_region_and_stay_out_of_others():
    legacy = f"{ACCOUNT}|legacy_db|legacy_t|old"
    state.FILTERS[legacy] = {"Name": "old", "DatabaseName": "legacy_db", "TableName": "legacy_t"}
    try:
        assert [f["Name"] for f in state.filters_for_table(ACCOUNT, "us-east-1", "legacy_db", "legacy_t")] \
            == ["old"]
        assert state.filters_for_table(ACCOUNT, "eu-west-1", "legacy_db", "legacy_t") == []
        assert legacy not in state.FILTERS
        assert f"{ACCOUNT}|us-east-1|legacy_db|legacy_t|old" in state.FILTERS
    finally:
        state.FILTERS.pop(f"{ACCOUNT}|us-east-1|legacy_db|legacy_t|old", None)
        state.FILTERS.pop(legacy, None)
