"""Which names belong to a prefix: exactly the template's, so ``ana`` never takes ``ana-01``'s."""
from __future__ import annotations

import pytest

from lakekit import deploy

ACCOUNT = "123456789012"


@pytest.mark.parametrize("name,prefix,ours", [
    (f"ana-raw-{ACCOUNT}-us-east-1", "ana", True),
    (f"ana-01-raw-{ACCOUNT}-us-east-1", "ana", False),       # attendee ana-01's bucket
    (f"ana-01-raw-{ACCOUNT}-us-east-1", "ana-01", True),
    (f"ana-athena-results-{ACCOUNT}-eu-west-1", "ana", True),
    ("ana-sensitivity", "ana", True),
    ("ana-01-sensitivity", "ana", False),                    # ana-01's LF-tag: teardown of ana kept it
    ("ana-domain", "ana", True),
    ("ana-glue", "ana", True),
    ("ana-01-glue", "ana", False),
    ("ana-datalake-read", "ana", True),
    ("ana-processed-crawler", "ana", True),
    ("/aws/lambda/ana-ingest", "ana", True),
    ("/aws/lambda/ana-01-ingest", "ana", False),
    ("alias/ana-datalake", "ana", True),
    ("ana-notes", "ana", False),                             # not a name the template gives
])
def test_owned_matches_the_template_names_only(name, prefix, ours):
    assert deploy._owned(name, prefix) is ours


def test_the_patterns_come_from_the_template():
    patterns = deploy._template_name_patterns()
    assert len(patterns) == 39  # 28 names of the lake template, 10 of the pipeline stack, the inbox
    assert r"{prefix}\-pipeline\-inbox" in patterns and r"{prefix}\-etl\-failed" in patterns
    assert r"{prefix}\-sensitivity" in patterns and r"{prefix}\-domain" in patterns
