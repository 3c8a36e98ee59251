"""``lakekit aws preflight`` / ``lakekit.preflight.run()`` with botocore Stubber, and the cost estimate."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _stubs import Stubs

from lakekit import cli, preflight
from lakekit.config import Settings

ACCOUNT = "111122223333"
ROLE = "AWSReservedSSO_DataEngineer_0123456789abcdef"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{ROLE}"
OTHER_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
AWS = Settings(target="aws", region="us-east-1", prefix="ws01")
ALLOWED_DEFAULTS = [{"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
                     "Permissions": ["ALL"]}]


@pytest.fixture
def stubs(monkeypatch):
    st = Stubs()
    monkeypatch.setattr(preflight, "_client", st)
    for service in ("sts", "iam", "lakeformation"):
        st.stub(service)
    yield st
    st.assert_done()


def _caller(stubs: Stubs) -> None:
    stubs.stub("sts").add_response("get_caller_identity", {
        "UserId": "AROAEXAMPLE:alice", "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/alice"})
    stubs.stub("iam").add_response("get_role", {"Role": {
        "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/", "RoleName": ROLE, "RoleId": "AROAEXAMPLEEXAMPLE1",
        "Arn": ROLE_ARN, "CreateDate": datetime(2025, 1, 1, tzinfo=UTC), "AssumeRolePolicyDocument": "{}"}},
        {"RoleName": ROLE})


def _simulate(stubs: Stubs, decisions: dict[str, str] | None = None) -> None:
    decisions = decisions or {}
    stubs.stub("iam").add_response("simulate_principal_policy", {"EvaluationResults": [
        {"EvalActionName": a, "EvalDecision": decisions.get(a, "allowed")} for a in preflight.DEPLOY_ACTIONS]},
        {"PolicySourceArn": ROLE_ARN, "ActionNames": list(preflight.DEPLOY_ACTIONS)})


def _lf(stubs: Stubs, admins: list[str], defaults: bool = True) -> None:
    settings = {"DataLakeAdmins": [{"DataLakePrincipalIdentifier": a} for a in admins]}
    if defaults:
        settings["CreateDatabaseDefaultPermissions"] = ALLOWED_DEFAULTS
        settings["CreateTableDefaultPermissions"] = ALLOWED_DEFAULTS
    else:
        settings["CreateDatabaseDefaultPermissions"] = []
        settings["CreateTableDefaultPermissions"] = []
    stubs.stub("lakeformation").add_response("get_data_lake_settings", {"DataLakeSettings": settings}, {})


def _run() -> tuple[preflight.Report, list[str]]:
    lines: list[str] = []
    return preflight.run(AWS, out=lines.append), lines


def test_admin_caller_is_ready(stubs):
    _caller(stubs)
    _simulate(stubs)
    _lf(stubs, [OTHER_ADMIN, ROLE_ARN])
    report, lines = _run()
    assert report.ok and report.caller_arn == ROLE_ARN
    assert lines[0] == (f"OK     credentials: account {ACCOUNT}, {ROLE_ARN} "
                        f"(session arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/alice)")
    assert lines[1] == "OK     region: us-east-1"
    assert lines[2] == f"OK     lake formation admin: {ROLE_ARN} is a data lake administrator."
    assert lines[3].startswith("OK     lake formation defaults: CreateDatabaseDefaultPermissions and "
                               "CreateTableDefaultPermissions hold IAM_ALLOWED_PRINCIPALS")
    assert lines[4].startswith("OK     deploy permissions: IAM allows cloudformation:CreateStack, iam:CreateRole")
    assert lines[5].startswith("NOTE   capabilities: the stack creates named IAM roles") and \
        "CAPABILITY_NAMED_IAM" in lines[5]
    assert lines[6].startswith("NOTE   estimated cost: $0.41 for one full workshop run (us-east-1 list prices "
                               f"of {preflight.PRICES_DATE}")
    assert [c.verdict for c in report.checks] == ["OK", "OK", "OK", "OK", "OK", "NOTE", "NOTE"]


def test_non_admin_that_may_become_admin_is_ready(stubs):
    _caller(stubs)
    _simulate(stubs)
    _lf(stubs, [OTHER_ADMIN])
    report, _ = _run()
    assert report.ok
    check = report.verdict("lake formation admin")
    assert check.verdict == "OK"
    assert check.detail.startswith("not a data lake administrator yet, and may become one (IAM allows "
                                   "lakeformation:PutDataLakeSettings)")


def test_caller_that_cannot_become_admin_is_told_what_to_ask_for(stubs):
    _caller(stubs)
    _simulate(stubs, {"lakeformation:PutDataLakeSettings": "implicitDeny"})
    _lf(stubs, [OTHER_ADMIN])
    report, lines = _run()
    assert not report.ok
    check = report.verdict("lake formation admin")
    assert check.verdict == "ACTION"
    assert check.detail == (
        f"{ROLE_ARN} is not a data lake administrator and may not become one "
        "(lakeformation:PutDataLakeSettings: implicitDeny). Ask a data lake administrator to add this "
        "ARN under Lake Formation > Administrative roles and tasks, or your IAM administrator for "
        "lakeformation:PutDataLakeSettings and lakeformation:GetDataLakeSettings.")
    assert report.verdict("deploy permissions").verdict == "OK"  # only the LF permission is missing


def test_defaults_without_iam_allowed_principals_need_action(stubs):
    _caller(stubs)
    _simulate(stubs)
    _lf(stubs, [ROLE_ARN], defaults=False)
    report, _ = _run()
    check = report.verdict("lake formation defaults")
    assert check.verdict == "ACTION" and not report.ok
    assert check.detail.startswith("CreateDatabaseDefaultPermissions and CreateTableDefaultPermissions do "
                                   "not hold IAM_ALLOWED_PRINCIPALS")


def test_missing_deploy_permissions_are_listed(stubs):
    _caller(stubs)
    _simulate(stubs, {"iam:CreateRole": "implicitDeny", "iam:PassRole": "explicitDeny"})
    _lf(stubs, [ROLE_ARN])
    report, _ = _run()
    check = report.verdict("deploy permissions")
    assert check.verdict == "ACTION"
    assert check.detail.startswith(f"IAM does not allow iam:CreateRole, iam:PassRole for {ROLE_ARN}")


def test_simulation_refused_and_not_admin(stubs):
    _caller(stubs)
    stubs.stub("iam").add_client_error("simulate_principal_policy", "AccessDenied",
                                       "not authorized to perform: iam:SimulatePrincipalPolicy", 403)
    _lf(stubs, [OTHER_ADMIN])
    report, _ = _run()
    assert report.verdict("lake formation admin").verdict == "ACTION"
    assert "iam:SimulatePrincipalPolicy" in report.verdict("lake formation admin").detail
    assert report.verdict("deploy permissions").verdict == "NOTE"


def test_no_credentials(stubs):
    stubs.stub("sts").add_client_error("get_caller_identity", "ExpiredToken",
                                       "The security token included in the request is expired", 403)
    report, lines = _run()
    assert not report.ok
    assert lines[0].startswith("ACTION credentials: no usable AWS credentials (ExpiredToken: The security "
                               "token included in the request is expired). Sign in first: `aws sso login")
    assert lines[-1].startswith("NOTE   estimated cost:")


# ---------------------------------------------------------------- the cost estimate
def test_default_estimate_numbers():
    got = preflight.estimate()
    assert got["glue job"] == pytest.approx(2 * 2 * 1 * 180 / 3600 * 0.44)          # 0.088
    assert got["glue crawler"] == pytest.approx(2 * 2 * 600 / 3600 * 0.44)           # 10-minute minimum
    assert got["athena"] == pytest.approx((30 * 10 + 6 * 30) / 2**20 * 5.0)          # MB -> TB
    assert got["kms key"] == pytest.approx(4 / 730)
    assert got["lambda"] == pytest.approx(50 / 1e6 * 0.2 + 50 * 0.5 * 2 * 0.0000166667)
    assert got["s3"] == pytest.approx(0.5 * 4 / 730 * 0.023 + 2 * 0.005 + 20 * 0.0004)
    assert got["secrets manager"] == pytest.approx(4 / 730 * 0.40 + 2 / 10_000 * 0.05)  # the TokenKey secret
    assert got["total"] == pytest.approx(0.410210, abs=1e-6)


def test_estimate_applies_the_minimums_and_rounding():
    w = preflight.Workload(glue_job_runs=1, glue_job_seconds=30, glue_workers=2, crawler_runs=1,
                           crawler_seconds=900, crawler_dpus=1, athena_query_bytes=(1, 10 * 2**20 + 1),
                           hours_deployed=4.2, lambda_invocations=0, s3_gb=0, s3_puts=0, s3_gets=0)
    got = preflight.estimate(w)
    assert got["glue job"] == pytest.approx(2 * 60 / 3600 * 0.44)      # 30 s billed as 1 minute
    assert got["glue crawler"] == pytest.approx(900 / 3600 * 0.44)     # above the minimum: as run
    assert got["athena"] == pytest.approx((10 + 11) / 2**20 * 5.0)     # 10 MB minimum, MB rounded up
    assert got["kms key"] == pytest.approx(5 / 730)                    # prorated by started hour
    assert got["lambda"] == 0 and got["s3"] == 0


# ---------------------------------------------------------------- the console script
@pytest.mark.parametrize("verdict,code,last", [
    ("OK", 0, "ready for the workshop"),
    ("ACTION", 2, "not ready: do what the ACTION lines say"),
])
def test_cli_aws_preflight_exit_code(monkeypatch, capsys, verdict, code, last):
    seen = {}

    def fake_run(s):
        seen["target"], seen["region"] = s.target, s.region
        return preflight.Report(checks=[preflight.Check("credentials", verdict, "x")])

    monkeypatch.setattr(preflight, "run", fake_run)
    assert cli.main(["aws", "preflight", "--region", "eu-west-1"]) == code
    assert seen == {"target": "aws", "region": "eu-west-1"}
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(last)
