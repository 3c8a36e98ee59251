"""Both templates (data lake and pipeline) pass cfn-lint (zero findings) and checkov (zero
failed checks).

checkov pins many packages, so it lives in its own venv: ``.venv-lint`` (the Makefile makes it:
``python3 -m venv .venv-lint && .venv-lint/bin/pip install checkov==3.3.30``). A missing
checkov FAILS this test on purpose: the security scan is part of ``make test``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "cloudformation" / "datalake.yaml"
PIPELINE = ROOT / "cloudformation" / "pipeline.yaml"
TEMPLATES = pytest.mark.parametrize("template", [TEMPLATE, PIPELINE], ids=["datalake", "pipeline"])
CHECKOV = ROOT / ".venv-lint" / "bin" / "checkov"


@TEMPLATES
def test_cfn_lint_has_no_findings(template):
    from lakekit.deploy import lint

    findings = lint(template)
    assert findings == [], "\n".join(f"{f['rule']} {f['location']}: {f['message']}" for f in findings)


@TEMPLATES
def test_cfn_lint_cli_exit_code_zero(template):
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(cfn_lint), str(template)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _checkov(template: Path) -> dict:
    assert CHECKOV.exists(), (
        f"checkov is not installed at {CHECKOV}: run `python3 -m venv .venv-lint && "
        ".venv-lint/bin/pip install checkov==3.3.30` (make test does it)."
    )
    proc = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, timeout=600,
    )
    return json.loads(proc.stdout)


def test_checkov_pipeline_has_no_failed_checks():
    report = _checkov(PIPELINE)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}"
              for c in report["results"]["failed_checks"]]
    assert report["summary"]["failed"] == 0, "\n".join(failed)
    assert report["summary"]["passed"] >= 20
    assert report["results"]["skipped_checks"] == []


def test_pipeline_template_fits_template_url_limit():
    """The pipeline stack is deployed with TemplateURL (limit 1 MB); the data lake template keeps
    its room under 51,200 bytes for what must live there (the raw bucket's EventBridge switch)."""
    assert len(PIPELINE.read_bytes()) <= 1_000_000
    assert b"EventBridgeEnabled: true" in TEMPLATE.read_bytes()


def test_checkov_has_no_failed_checks():
    assert CHECKOV.exists(), (
        f"checkov is not installed at {CHECKOV}: run `python3 -m venv .venv-lint && "
        ".venv-lint/bin/pip install checkov==3.3.30` (make test does it)."
    )
    proc = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(proc.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}"
              for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["passed"] >= 100
    # every suppression carries a written reason
    skipped = report["results"]["skipped_checks"]
    assert skipped and all(len((c.get("check_result") or {}).get("suppress_comment", "")) > 20
                           for c in skipped)


def test_template_fits_create_stack_template_body():
    """CreateStack/UpdateStack take at most 51,200 bytes of TemplateBody (larger needs a
    TemplateURL in S3, which the first phase cannot have: the artifacts bucket is in the stack)."""
    from lakekit import deploy

    size = len(deploy.TEMPLATE.read_bytes())
    assert size <= 51_200, f"{deploy.TEMPLATE.name} is {size:,} bytes: trim it below 51,200"
