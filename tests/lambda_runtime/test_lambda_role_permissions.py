"""Lambda acts with the function's execution role, as on AWS: the function's logs
(AWSLambdaBasicExecutionRole) and its SQS destinations / dead-letter queue (sqs:SendMessage,
scoped to the queue ARN) need the role's permissions, never the caller's."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from conftest import ECHO

from tests.iam.roles import ACCOUNT, REGION, lambda_basic_logs, service_role


def test_logs_are_written_only_when_the_execution_role_may(lam):
    fn = lam.function("nolog", ECHO)
    # the role may write logs only for "withlog-*" functions
    service_role(lam.ep, lam.role_arn, "lambda.amazonaws.com",
                 statements=[lambda_basic_logs(f"withlog-{lam.tag}-*")])
    resp = lam.lam.invoke(FunctionName=fn["FunctionName"], Payload=b'{"n": 1}')
    assert resp["StatusCode"] == 200 and json.loads(resp["Payload"].read())["echo"] == {"n": 1}
    with pytest.raises(lam.logs.exceptions.ResourceNotFoundException):  # Lambda could not create it
        lam.logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn['FunctionName']}")
    ok = lam.function("withlog", ECHO)
    resp = lam.lam.invoke(FunctionName=ok["FunctionName"], Payload=b'{"n": 2}')
    assert resp["StatusCode"] == 200
    msgs = lam.log_messages(ok["FunctionName"])
    assert [m for m in msgs if m.startswith("START")] == [
        f"START RequestId: {resp['ResponseMetadata']['RequestId']} Version: $LATEST"]


def test_sqs_send_message_is_authorized_on_the_queue_arn(lam):
    allowed_url = lam.sqs.create_queue(QueueName=lam.name("allowed"))["QueueUrl"]
    other_url = lam.sqs.create_queue(QueueName=lam.name("other"))["QueueUrl"]
    allowed_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{allowed_url.rsplit('/', 1)[1]}"
    role = f"arn:aws:iam::{ACCOUNT}:role/sqs-sender-{lam.tag}"
    service_role(lam.ep, role, None, statements=[{"Action": ["sqs:SendMessage"], "Resource": [allowed_arn]}],
                 trusted={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    c = lam.ep.client("sts").assume_role(RoleArn=role, RoleSessionName="sender")["Credentials"]
    sqs = lam.ep.client("sqs", access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"],
                        session_token=c["SessionToken"])
    assert sqs.send_message(QueueUrl=allowed_url, MessageBody="hi")["MessageId"]
    assert sqs.send_message_batch(QueueUrl=allowed_url, Entries=[{"Id": "1", "MessageBody": "a"}])[
        "Successful"][0]["Id"] == "1"
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=other_url, MessageBody="hi")
    other_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{other_url.rsplit('/', 1)[1]}"
    err = exc.value.response["Error"]
    assert err["Code"] in ("AccessDenied", "AccessDeniedException")
    assert f"is not authorized to perform: sqs:SendMessage on resource: {other_arn}" in err["Message"]
    with pytest.raises(ClientError):
        sqs.receive_message(QueueUrl=allowed_url)  # only SendMessage was granted


def test_a_role_without_create_log_group_writes_to_a_precreated_group(lam):
    """The template's pattern: the stack creates the group, the role has only CreateLogStream and
    PutLogEvents on it (AWS Lambda then skips creating the group)."""
    fn = lam.function("pre", ECHO)
    group = f"/aws/lambda/{fn['FunctionName']}"
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    service_role(lam.ep, lam.role_arn, "lambda.amazonaws.com", statements=[
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [f"{group_arn}:*"]}])
    lam.logs.create_log_group(logGroupName=group)
    resp = lam.lam.invoke(FunctionName=fn["FunctionName"], Payload=b"{}")
    assert resp["StatusCode"] == 200
    rid = resp["ResponseMetadata"]["RequestId"]
    assert f"END RequestId: {rid}" in lam.log_messages(fn["FunctionName"])
