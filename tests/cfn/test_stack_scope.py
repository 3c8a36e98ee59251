"""Parity-ledger pin: the local CloudFormation engine finds stacks by name in every account and
region (AWS scopes stacks to the caller's account and region). Not fixed on the run-lifecycle
branch: ``find_stack`` has no caller scope and the executors call it by name."""
from __future__ import annotations

from lakekit.local.cloudformation import engine


def test_a_stack_of_another_region_is_found_by_name():
    arn = "arn:aws:cloudformation:eu-west-1:210987654321:stack/scope-gap/1"
    engine.STACKS[arn] = {"StackId": arn, "StackName": "scope-gap", "StackStatus": "CREATE_COMPLETE"}
    try:
        found = engine.find_stack("scope-gap")
        assert found is not None and found["StackId"] == arn  # AWS: "Stack with id scope-gap does not exist"
    finally:
        engine.STACKS.pop(arn, None)
