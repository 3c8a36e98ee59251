"""S3 notifications -> local Lambda runtime, through the real endpoint process."""
from __future__ import annotations

import json
import re
import time

from conftest import COPIER, wait_for

RECORD_KEYS = {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
               "requestParameters", "responseElements", "s3"}


def _copier(lam, dest: str, **extra):
    return lam.function("copier", COPIER, env={"DEST_BUCKET": dest, "GREETING": "hi"}, **extra)


def test_put_runs_handler_with_the_exact_aws_event(lam):
    src, dest = lam.bucket("src", versioned=True), lam.bucket("dest")
    fn = _copier(lam, dest)
    lam.notify(src, fn["FunctionArn"], ["s3:ObjectCreated:*"], prefix="dir/", suffix=".csv")
    key = "dir/a b+c.csv"
    before = time.time()
    put = lam.s3.put_object(Bucket=src, Key=key, Body=b"x,y\n1,2\n")
    seen = wait_for(lambda: lam.get_json(dest, f"_seen/{key}.json"), 30, "the handler's record")
    assert lam.s3.get_object(Bucket=dest, Key=key)["Body"].read() == b"x,y\n1,2\n"

    event = seen["event"]
    assert list(event) == ["Records"] and len(event["Records"]) == 1
    rec = event["Records"][0]
    assert set(rec) == RECORD_KEYS
    assert rec["eventVersion"] == "2.1" and rec["eventSource"] == "aws:s3"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["eventName"] == "ObjectCreated:Put"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["eventTime"])
    assert rec["userIdentity"]["principalId"].startswith("AWS:")
    assert rec["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert set(rec["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3 = rec["s3"]
    assert set(s3) == {"s3SchemaVersion", "configurationId", "bucket", "object"}
    assert s3["s3SchemaVersion"] == "1.0" and s3["configurationId"] == "to-lambda"
    assert s3["bucket"]["name"] == src and s3["bucket"]["arn"] == f"arn:aws:s3:::{src}"
    assert set(s3["bucket"]["ownerIdentity"]) == {"principalId"}
    obj = s3["object"]
    assert set(obj) == {"key", "size", "eTag", "versionId", "sequencer"}
    assert obj["key"] == "dir/a+b%2Bc.csv"
    assert obj["size"] == 8
    assert obj["eTag"] == put["ETag"].strip('"')
    assert obj["versionId"] == put["VersionId"]
    assert re.fullmatch(r"[0-9A-F]{18}", obj["sequencer"])

    # role credentials, environment and context reached the handler
    assert seen["identity"].startswith(f"arn:aws:sts::123456789012:assumed-role/{lam.role_name}/")
    env = seen["env"]
    assert env["DEST_BUCKET"] == dest and env["GREETING"] == "hi"
    assert env["AWS_ENDPOINT_URL"] == lam.ep.url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn["FunctionName"]
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "h.handler"
    assert env["AWS_ACCESS_KEY_ID"] != "test" and env["AWS_SESSION_TOKEN"]
    ctx = seen["context"]
    assert ctx["function_name"] == fn["FunctionName"] and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == fn["FunctionArn"]
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["log_group_name"] == f"/aws/lambda/{fn['FunctionName']}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"])
    assert 0 < ctx["remaining_ms"] <= 10_000
    print(f"\nput -> handler start: {(seen['started'] - before) * 1000:.0f} ms")

    # CloudWatch Logs, as on AWS
    rid = ctx["aws_request_id"]
    msgs = wait_for(lambda: [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("REPORT")]
                    and lam.log_messages(fn["FunctionName"]), 20, "the REPORT line")
    assert f"START RequestId: {rid} Version: $LATEST" in msgs
    assert json.dumps({"copied": key, "bucket": src}) in msgs
    assert f"END RequestId: {rid}" in msgs
    report = [m for m in msgs if m.startswith("REPORT")][0]
    assert re.fullmatch(rf"REPORT RequestId: {rid}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms", report)
    assert msgs.index(f"START RequestId: {rid} Version: $LATEST") < msgs.index(f"END RequestId: {rid}")
    streams = lam.logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn['FunctionName']}")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [ctx["log_stream_name"]]


def test_filters_decide_which_objects_invoke(lam):
    src, dest = lam.bucket("src"), lam.bucket("dest")
    fn = _copier(lam, dest)
    lam.notify(src, fn["FunctionArn"], ["s3:ObjectCreated:Put"], prefix="in/", suffix=".csv")
    lam.s3.put_object(Bucket=src, Key="in/skip.json", Body=b"{}")      # wrong suffix
    lam.s3.put_object(Bucket=src, Key="out/skip.csv", Body=b"a\n")     # wrong prefix
    lam.s3.copy_object(Bucket=src, Key="in/copied.csv",                # Copy is not Put
                       CopySource={"Bucket": src, "Key": "out/skip.csv"})
    lam.s3.put_object(Bucket=src, Key="in/take.csv", Body=b"a\n")
    seen = wait_for(lambda: lam.get_json(dest, "_seen/in/take.csv.json"), 30, "in/take.csv")
    unversioned = seen["event"]["Records"][0]["s3"]["object"]
    assert "versionId" not in unversioned and unversioned["key"] == "in/take.csv"
    wait_for(lambda: any(m.startswith("REPORT") for m in lam.log_messages(fn["FunctionName"])), 20,
             "the REPORT line")
    starts = [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("START")]
    assert len(starts) == 1
    assert lam.keys(dest, "in/") == ["in/take.csv"]


def test_copy_and_multipart_upload_event_names(lam):
    src, dest = lam.bucket("src", versioned=True), lam.bucket("dest")
    fn = _copier(lam, dest)
    lam.notify(src, fn["FunctionArn"], ["s3:ObjectCreated:*"])
    part1, part2 = b"a" * (5 * 1024 * 1024), b"b" * 100
    mpu = lam.s3.create_multipart_upload(Bucket=src, Key="big/file.bin")
    parts = []
    for n, body in enumerate((part1, part2), start=1):
        got = lam.s3.upload_part(Bucket=src, Key="big/file.bin", UploadId=mpu["UploadId"],
                                 PartNumber=n, Body=body)
        parts.append({"ETag": got["ETag"], "PartNumber": n})
    done = lam.s3.complete_multipart_upload(Bucket=src, Key="big/file.bin", UploadId=mpu["UploadId"],
                                            MultipartUpload={"Parts": parts})
    seen = wait_for(lambda: lam.get_json(dest, "_seen/big/file.bin.json"), 30, "the multipart event")
    rec = seen["event"]["Records"][0]
    assert rec["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert rec["s3"]["object"]["size"] == len(part1) + len(part2)
    assert rec["s3"]["object"]["eTag"] == done["ETag"].strip('"')
    assert rec["s3"]["object"]["eTag"].endswith("-2")
    assert rec["s3"]["object"]["versionId"] == done["VersionId"]
    first_sequencer = rec["s3"]["object"]["sequencer"]

    copied = lam.s3.copy_object(Bucket=src, Key="copies/c.txt",
                                CopySource={"Bucket": src, "Key": "big/file.bin"})
    seen = wait_for(lambda: lam.get_json(dest, "_seen/copies/c.txt.json"), 30, "the copy event")
    rec = seen["event"]["Records"][0]
    assert rec["eventName"] == "ObjectCreated:Copy"
    assert rec["s3"]["object"]["eTag"] == copied["CopyObjectResult"]["ETag"].strip('"')
    assert rec["s3"]["object"]["versionId"] == copied["VersionId"]
    assert rec["s3"]["object"]["sequencer"] > first_sequencer
    wait_for(lambda: len([m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("REPORT")]) >= 2,
             20, "two REPORT lines")
    starts = [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("START")]
    assert len(starts) == 2  # no extra Put/ObjectTagging event from moto's internals


def test_failing_handler_is_retried_twice_then_sent_to_on_failure_queue(lam):
    src, dest = lam.bucket("src"), lam.bucket("dest")
    fn = _copier(lam, dest)
    queue_url = lam.sqs.create_queue(QueueName=lam.name("onfail"))["QueueUrl"]
    queue_arn = lam.sqs.get_queue_attributes(QueueUrl=queue_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.lam.put_function_event_invoke_config(
        FunctionName=fn["FunctionName"], DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    lam.notify(src, fn["FunctionArn"], ["s3:ObjectCreated:*"])
    lam.s3.put_object(Bucket=src, Key="please-fail.csv", Body=b"a\n")

    def message():
        got = lam.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1,
                                      MaxNumberOfMessages=1).get("Messages")
        return got[0] if got else None

    msg = wait_for(message, 60, "the on-failure destination message")
    record = json.loads(msg["Body"])
    ctx = record["requestContext"]
    assert ctx["condition"] == "RetriesExhausted" and ctx["approximateInvokeCount"] == 3
    assert ctx["functionArn"] == f"{fn['FunctionArn']}:$LATEST"
    assert record["version"] == "1.0"
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "please-fail.csv"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "refusing please-fail.csv"
    attempts = lam.keys(dest, f"_attempts/{ctx['requestId']}/")
    assert len(attempts) == 3
    starts = [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("START")]
    assert starts == [f"START RequestId: {ctx['requestId']} Version: $LATEST"] * 3
    errors = lam.log_messages(fn["FunctionName"], '"[ERROR] ValueError"')
    assert len(errors) == 3 and "Traceback (most recent call last)" in errors[0]


def test_dead_letter_queue_gets_the_original_event(lam):
    queue_url = lam.sqs.create_queue(QueueName=lam.name("dlq"))["QueueUrl"]
    queue_arn = lam.sqs.get_queue_attributes(QueueUrl=queue_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    from conftest import ECHO

    fn = lam.function("dlq", ECHO, DeadLetterConfig={"TargetArn": queue_arn})
    lam.lam.put_function_event_invoke_config(FunctionName=fn["FunctionName"], MaximumRetryAttempts=0)
    resp = lam.lam.invoke(FunctionName=fn["FunctionName"], InvocationType="Event",
                          Payload=json.dumps({"action": "fail", "n": 7}).encode())
    assert resp["StatusCode"] == 202
    rid = resp["ResponseMetadata"]["RequestId"]

    def message():
        got = lam.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1,
                                      MessageAttributeNames=["All"]).get("Messages")
        return got[0] if got else None

    msg = wait_for(message, 30, "the dead-letter message")
    assert json.loads(msg["Body"]) == {"action": "fail", "n": 7}
    attrs = {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()}
    assert attrs["RequestID"] == rid
    assert attrs["ErrorMessage"] == "KeyError: 'missing thing'"
    starts = [m for m in lam.log_messages(fn["FunctionName"]) if m.startswith("START")]
    assert len(starts) == 1


def test_functions_notifications_and_dlq_survive_a_restart(fresh_endpoint):
    from conftest import ECHO, Lam

    lam = Lam(fresh_endpoint)
    src, dest = lam.bucket("src"), lam.bucket("dest")
    copier = _copier(lam, dest)
    lam.notify(src, copier["FunctionArn"], ["s3:ObjectCreated:*"])
    queue_url = lam.sqs.create_queue(QueueName=lam.name("dlq"))["QueueUrl"]
    queue_arn = lam.sqs.get_queue_attributes(QueueUrl=queue_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    failing = lam.function("dlq", ECHO, DeadLetterConfig={"TargetArn": queue_arn})
    lam.lam.put_function_event_invoke_config(FunctionName=failing["FunctionName"], MaximumRetryAttempts=0)
    assert fresh_endpoint.stop() is True
    fresh_endpoint.start()

    lam.s3.put_object(Bucket=src, Key="after-restart.csv", Body=b"a\n")
    seen = wait_for(lambda: lam.get_json(dest, "_seen/after-restart.csv.json"), 30, "the handler after restart")
    assert seen["event"]["Records"][0]["s3"]["object"]["key"] == "after-restart.csv"
    lam.lam.invoke(FunctionName=failing["FunctionName"], InvocationType="Event",
                   Payload=b'{"action": "fail"}')

    def message():
        got = lam.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages")
        return got[0] if got else None

    assert json.loads(wait_for(message, 30, "the dead-letter message")["Body"]) == {"action": "fail"}
