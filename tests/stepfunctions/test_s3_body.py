"""``aws-sdk:s3:getObject``: the object's content is the output's ``Body`` as a string (what
``States.StringToJson($.Body)`` reads), as the AWS SDK integrations return it. moto 5.2.5's
interpreter left botocore's StreamingBody object there: the pipeline's data-quality Map failed
``States.Runtime`` ("'StreamingChecksumBody' object has no attribute 'strip'")."""
from __future__ import annotations

import json
import uuid


def test_get_object_body_is_the_content_as_a_string_in_a_map(lab):
    tag = uuid.uuid4().hex[:6]
    names = ["flights", "weather", "planes", "airlines", "airports"]
    for i, name in enumerate(names):
        body = json.dumps({"status": "Passed", "dataset": name, "pad": "x" * (1000 * (i + 1))})
        lab.s3.put_object(Bucket=lab.art, Key=f"reports/{tag}/{name}/dq.json", Body=body.encode(),
                          ChecksumAlgorithm="CRC32")
    definition = {"StartAt": "Read", "States": {"Read": {
        "Type": "Map", "ItemsPath": "$.datasets", "MaxConcurrency": 5,
        "ItemSelector": {"dataset.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Get", "States": {
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                    "Parameters": {"Bucket": lab.art,
                                   "Key.$": f"States.Format('reports/{tag}/{{}}/dq.json', $.dataset)"},
                    "ResultSelector": {"report.$": "States.StringToJson($.Body)"},
                    "OutputPath": "$.report", "End": True}}},
        "End": True}}}
    role = lab.role(statements=[{"Action": ["s3:GetObject"],
                                 "Resource": [f"arn:aws:s3:::{lab.art}/reports/{tag}/*"]}])
    desc, events = lab.run(lab.machine(definition, role), {"datasets": names})
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    out = json.loads(desc["output"])
    assert [r["dataset"] for r in out] == names and {r["status"] for r in out} == {"Passed"}
    assert [len(r["pad"]) for r in out] == [1000, 2000, 3000, 4000, 5000]
    bodies = [json.loads(json.loads(e["taskSucceededEventDetails"]["output"])["Body"])["dataset"]
              for e in events if e["type"] == "TaskSucceeded"]
    assert sorted(bodies) == sorted(names)      # the history shows the content, not an object
