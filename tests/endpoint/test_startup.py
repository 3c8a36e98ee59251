"""What the endpoint imports at start (start-up time is paid by every `lakekit local up` and test file)."""
from __future__ import annotations

import json
import subprocess
import sys

from lakekit.local import server

PROBE = ("import json, sys; from lakekit.local import server; server._warm_moto(); "
         "print(json.dumps({m: m in sys.modules for m in ('moto.cloudformation', 'moto.ec2', "
         "'moto.apigateway', 'moto.s3.models', 'moto.glue.models', 'moto.awslambda.models')}))")


def test_start_warms_the_kits_backends_but_not_motos_cloudformation():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300,
                         check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {
        "moto.cloudformation": False, "moto.ec2": False, "moto.apigateway": False,
        "moto.s3.models": True, "moto.glue.models": True, "moto.awslambda.models": True}
    assert "cloudformation" not in server.WARM_BACKENDS and "lambda" in server.WARM_BACKENDS


def test_cloudformation_is_answered_by_the_kits_engine(endpoint):
    """Every CloudFormation operation has a lakekit executor: moto's backend is never asked."""
    import botocore.session

    from lakekit.local.registry import REGISTRY
    from lakekit.local.services import cloudformation as _cfn  # noqa: F401 - registers the executors

    ops = botocore.session.get_session().get_service_model("cloudformation").operation_names
    assert [op for op in ops if REGISTRY.executor_for("cloudformation", op) is None] == []
    cf = endpoint.client("cloudformation")
    assert cf.list_stacks()["ResponseMetadata"]["HTTPStatusCode"] == 200
    body = "Resources:\n  B: {Type: AWS::S3::Bucket}\n"
    assert cf.validate_template(TemplateBody=body)["Parameters"] == []
