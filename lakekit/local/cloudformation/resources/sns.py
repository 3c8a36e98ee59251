"""AWS::SNS::Topic and AWS::SNS::TopicPolicy through the SNS API.

Topic attributes (DisplayName, KmsMasterKeyId, FIFO settings, SignatureVersion), tags and inline
subscriptions are applied with CreateTopic / SetTopicAttributes / Subscribe, so
``get_topic_attributes`` and ``list_subscriptions_by_topic`` answer as on AWS. Deleting a
TopicPolicy puts SNS's default (owner-only) policy back, as CloudFormation does.
"""
from __future__ import annotations

import json
from typing import Any

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    deleting,
    failing_as,
    policy_json,
    provisioner,
    tags_list,
)

__all__ = ["Topic", "TopicPolicy", "default_topic_policy"]

_ATTRS = ("DisplayName", "KmsMasterKeyId", "SignatureVersion", "ContentBasedDeduplication")


def _attributes(props: dict[str, Any]) -> dict[str, str]:
    out = {k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
           for k in _ATTRS if k in props}
    if str(props.get("FifoTopic", "false")).lower() == "true":
        out["FifoTopic"] = "true"
    return out


def default_topic_policy(topic_arn: str, account_id: str) -> str:
    """The policy SNS gives a new topic (the account's principals, owner-conditioned)."""
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
               "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
               "SNS:Publish"]
    return json.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": actions, "Resource": topic_arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}}}]})


@provisioner
class Topic(Provisioner):
    type = "AWS::SNS::Topic"
    supported = frozenset({"TopicName", "DisplayName", "KmsMasterKeyId", "FifoTopic",
                           "ContentBasedDeduplication", "SignatureVersion", "Subscription", "Tags"})
    attributes = ("TopicArn", "TopicName")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("TopicName") or ctx.physical_name(logical, 256)
        if str(props.get("FifoTopic", "false")).lower() == "true" and not name.endswith(".fifo"):
            name = name[:251] + ".fifo"
        kwargs: dict[str, Any] = {"Name": name, "Attributes": _attributes(props)}
        if props.get("Tags"):
            kwargs["Tags"] = tags_list(props["Tags"])
        sns = ctx.client("sns")
        with failing_as("TopicName", "Sns"):
            arn = sns.create_topic(**kwargs)["TopicArn"]
        for sub in props.get("Subscription") or []:
            with failing_as("Subscription", "Sns"):
                sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
        return Created(arn, {"TopicArn": arn, "TopicName": name})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        sns = ctx.client("sns")
        before, after = _attributes(old), _attributes(new)
        for key in _ATTRS:
            if before.get(key) != after.get(key):
                with failing_as(key, "Sns"):
                    sns.set_topic_attributes(TopicArn=physical_id, AttributeName=key,
                                             AttributeValue=after.get(key, ""))
        if old.get("Subscription") != new.get("Subscription"):
            wanted = {(s["Protocol"], s["Endpoint"]) for s in new.get("Subscription") or []}
            had = {(s["Protocol"], s["Endpoint"]) for s in old.get("Subscription") or []}
            current = sns.list_subscriptions_by_topic(TopicArn=physical_id).get("Subscriptions", [])
            with failing_as("Subscription", "Sns"):
                for s in current:
                    if (s["Protocol"], s["Endpoint"]) in had - wanted and s["SubscriptionArn"].startswith("arn:"):
                        sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
                for protocol, endpoint in sorted(wanted - had):
                    sns.subscribe(TopicArn=physical_id, Protocol=protocol, Endpoint=endpoint)
        if old.get("Tags") != new.get("Tags"):
            with failing_as("Tags", "Sns"):
                gone = {t["Key"] for t in tags_list(old.get("Tags"))} - {t["Key"] for t in tags_list(new.get("Tags"))}
                if gone:
                    sns.untag_resource(ResourceArn=physical_id, TagKeys=sorted(gone))
                if new.get("Tags"):
                    sns.tag_resource(ResourceArn=physical_id, Tags=tags_list(new["Tags"]))
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with deleting("NotFound", "Sns"):
            ctx.client("sns").delete_topic(TopicArn=physical_id)


@provisioner
class TopicPolicy(Provisioner):
    type = "AWS::SNS::TopicPolicy"
    supported = frozenset({"Topics", "PolicyDocument"})
    required = frozenset({"Topics", "PolicyDocument"})

    def _put(self, ctx: ProvisionContext, topics: list[str], doc: Any) -> None:
        sns = ctx.client("sns")
        for arn in topics:
            with failing_as("PolicyDocument", "Sns"):
                sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy_json(doc))

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        self._put(ctx, list(props["Topics"]), props["PolicyDocument"])
        return Created(f"{ctx.stack_name}-{logical}-{len(props['Topics'])}", {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        self._put(ctx, list(new["Topics"]), new["PolicyDocument"])
        for arn in set(old.get("Topics") or []) - set(new["Topics"]):
            self._reset(ctx, arn)
        return attrs

    def _reset(self, ctx: ProvisionContext, arn: str) -> None:
        with deleting("NotFound", "Sns"):
            ctx.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                                   AttributeValue=default_topic_policy(arn, ctx.account_id))

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        for arn in props.get("Topics") or []:
            self._reset(ctx, arn)
