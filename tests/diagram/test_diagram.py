"""lakekit.diagram: the picture is the template's resources, byte for byte reproducible."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from lakekit import cli, diagram
from lakekit.diagram import DiagramError

ROOT = Path(__file__).resolve().parents[2]
DATALAKE = ROOT / "cloudformation" / "datalake.yaml"
COMMITTED = ROOT / "docs" / "architecture.svg"
_TEXT = re.compile(r'<text style="[^"]*fill: (#[0-9a-f]{6})"[^>]*>([^<]*)</text>')
INK, MUTED = "#232f3e", "#a7adb3"


def _without(tmp_path: Path, *logical_ids: str, extra: str = "") -> Path:
    """A copy of datalake.yaml without the named resources' blocks (plus ``extra`` resources)."""
    text = DATALAKE.read_text()
    for rid in logical_ids:
        block = re.search(rf"^  {rid}:\n(?:(?:    .*|\s*)\n)*?(?=^  \S|^\S)", text, flags=re.M)
        assert block, f"{rid} not in the template"
        text = text[:block.start()] + text[block.end():]
    if extra:
        text = text.replace("\nResources:\n", "\nResources:\n" + extra, 1)
    out = tmp_path / "datalake.yaml"
    out.write_text(text)
    return out


def _fills(svg_text: str) -> dict[str, str]:
    """Label -> its text colour, for the labels of a text-mode SVG."""
    return {html.unescape(label): fill for fill, label in _TEXT.findall(svg_text)}


def test_committed_svg_is_the_templates_picture_byte_for_byte() -> None:
    fresh = diagram.svg()
    committed = COMMITTED.read_text(encoding="utf-8")
    assert fresh == committed, (
        "docs/architecture.svg differs from the picture of the templates: run `lakekit diagram` and "
        f"commit docs/architecture.svg and .png (made by: {diagram._creator()}; committed by: "
        f"{re.search(r'<dc:title>(.*?)</dc:title>', committed).group(1)})")
    assert "<dc:date>" not in committed
    for rid in diagram.load().stage:  # every box's logical id is in the picture (an XML comment per label)
        assert f"<!-- {rid} -->" in committed, rid


def test_boxes_are_the_templates_resources_with_their_types() -> None:
    lake = diagram.load()
    assert lake.templates[0] == "datalake.yaml"
    assert lake.resources["IngestFunction"].type == "AWS::Lambda::Function"
    assert lake.stage["LandingBucket"] == "landing"
    assert lake.stage["RawBucket"] == lake.stage["QuarantineBucket"] == "zones"
    assert lake.stage["EtlJob"] == "etl"
    assert lake.stage["ProcessedCrawler"] == "crawler"
    assert lake.stage["LakeDatabase"] == "catalog"
    assert lake.stage["JfkDeparturesFilter"] == "governance"
    assert lake.stage["AnalystsWorkGroup"] == "query"
    assert (lake.stage["DataKey"], lake.stage["GlueRole"], lake.stage["IngestLogGroup"]) == ("kms", "iam", "logs")
    assert lake.attached["LandingBucket"] == ["LandingBucketPolicy"]
    assert lake.attached["DataKey"] == ["DataKeyAlias"]
    # every resource of the template is drawn: a box of its own or a line in its parent's
    drawn = set(lake.stage) | {a for kids in lake.attached.values() for a in kids}
    text = DATALAKE.read_text()
    in_template = set(re.findall(r"^  ([A-Za-z0-9]+):\n    Type: AWS::", text, flags=re.M))
    assert drawn == set(lake.resources)
    assert in_template <= drawn
    labels = set(_fills(diagram.svg(text_as_paths=False)))
    assert {"IngestFunction", "Lambda::Function", "+ LandingBucketPolicy · S3::BucketPolicy"} <= labels


def test_arrows_follow_the_references_in_the_data_direction() -> None:
    edges = set(diagram.load().edges())
    for edge in [("ApiPullFunction", "LandingBucket"), ("LandingBucket", "IngestFunction"),
                 ("IngestFunction", "RawBucket"), ("IngestFunction", "QuarantineBucket"),
                 ("RawBucket", "EtlJob"), ("EtlJob", "ProcessedBucket"),
                 ("EtlJob", "QuarantineBucket"),  # the job's rejected rows, written back
                 ("ProcessedBucket", "ProcessedCrawler"), ("ProcessedCrawler", "LakeDatabase"),
                 ("EtlJob", "CrawlAfterEtlTrigger"), ("CrawlAfterEtlTrigger", "ProcessedCrawler"),
                 ("ApiPullScheduleRule", "ApiPullFunction"), ("LakeDatabase", "JfkDeparturesFilter")]:
        assert edge in edges, edge
    assert ("QuarantineBucket", "EtlJob") not in edges
    assert ("ProcessedCrawler", "ProcessedBucket") not in edges
    assert not {e for e in edges if "DataKey" in e or "GlueRole" in e}  # cross-cutting: no arrows


def test_a_removed_resource_leaves_the_picture(tmp_path: Path) -> None:
    before = diagram.svg(templates=[DATALAKE], text_as_paths=False)
    copy = _without(tmp_path, "JfkDeparturesFilter", "LandingBucketPolicy", "ApiPullFunction")
    lake = diagram.load([copy])
    assert "JfkDeparturesFilter" not in lake.resources and "JfkDeparturesFilter" not in lake.stage
    assert "LandingBucket" not in lake.attached
    after = diagram.svg(templates=[copy], text_as_paths=False)
    assert "JfkDeparturesFilter" in _fills(before) and "JfkDeparturesFilter" not in _fills(after)
    assert "+ LandingBucketPolicy · S3::BucketPolicy" in _fills(before)
    assert not any("LandingBucketPolicy" in label for label in _fills(after))
    # the weather API only feeds the api-pull Lambda: without it, no weather API box either
    assert "Weather API" in _fills(before) and "Weather API" not in _fills(after)
    assert "ApiPullFunction" not in _fills(after)
    assert "<!-- JfkDeparturesFilter -->" not in diagram.svg(templates=[copy])


def test_an_unplaced_type_appears_in_other(tmp_path: Path) -> None:
    copy = _without(tmp_path, extra="  DeadLetters:\n    Type: AWS::SQS::Queue\n    Properties:\n"
                                     "      KmsMasterKeyId: !Ref DataKey\n")
    lake = diagram.load([copy])
    assert lake.stage["DeadLetters"] == "other"
    fills = _fills(diagram.svg(templates=[copy], text_as_paths=False))
    assert {"Other", "DeadLetters", "SQS::Queue"} <= set(fills)
    assert lake.users("DataKey")[:1] == ["DeadLetters"]


def test_the_second_template_is_optional_and_its_parameters_reach_the_main_resources(tmp_path: Path) -> None:
    missing = tmp_path / "pipeline.yaml"
    assert diagram.load([DATALAKE, missing]).templates == ("datalake.yaml",)
    missing.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n  EtlJobName: {Type: String}\n  CrawlerName: {Type: String}\n"
        "Resources:\n"
        "  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      RoleArn: arn:aws:iam::123456789012:role/x\n"
        "      DefinitionSubstitutions: {Job: !Ref EtlJobName, Crawler: !Ref CrawlerName}\n"
        "      DefinitionString: '{}'\n")
    lake = diagram.load([DATALAKE, missing])
    assert lake.templates == ("datalake.yaml", "pipeline.yaml")
    assert lake.stage["Machine"] == "orchestration"
    assert lake.resources["Machine"].refs == {"EtlJob", "ProcessedCrawler"}  # via the main stack's outputs
    fills = _fills(diagram.svg("orchestration", templates=[DATALAKE, missing], text_as_paths=False))
    assert fills["refs EtlJob, ProcessedCrawler"] != MUTED and fills["in pipeline.yaml"] != MUTED
    assert fills["Machine"] == INK and fills["EtlJob"] == MUTED


def test_a_logical_id_in_both_templates_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "pipeline.yaml"
    other.write_text("Resources:\n  DataKey:\n    Type: AWS::KMS::Key\n")
    with pytest.raises(DiagramError, match=r"logical id DataKey is defined in datalake.yaml and pipeline.yaml"):
        diagram.load([DATALAKE, other])


def test_an_unreadable_template_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "datalake.yaml"
    bad.write_text("Resources: [unclosed\n")
    with pytest.raises(DiagramError, match=r"cannot be read as a CloudFormation template"):
        diagram.load([bad])
    with pytest.raises(DiagramError, match=r"template .*nope.yaml not found"):
        diagram.load([tmp_path / "nope.yaml"])


# part -> (labels emphasised, labels muted)
EXPECTED = {
    "sources": ({"Weather API", "ApiPullFunction", "ApiPullScheduleRule", "ApiPullLambdaRole"},
                {"LandingBucket", "IngestFunction"}),
    "ingest": ({"LandingBucket", "IngestFunction", "RawBucket", "QuarantineBucket", "Monthly CSV drops",
                "IngestLambdaRole", "IngestLogGroup", "DataKey"}, {"EtlJob", "LakeDatabase", "GlueRole"}),
    "etl": ({"RawBucket", "EtlJob", "ProcessedBucket", "GlueRole", "TokenKey", "GlueSecurityConfiguration"},
            {"IngestFunction", "ProcessedCrawler", "IngestLambdaRole"}),
    "catalog": ({"ProcessedCrawler", "CrawlAfterEtlTrigger", "LakeDatabase", "GlueRole"},
                {"EtlJob", "JfkDeparturesFilter"}),
    "governance": ({"JfkDeparturesFilter", "DataLakeSettings", "LakeDatabase", "AnalystRestrictedRole",
                    "DataLakeAdminRole"}, {"EngineersWorkGroup", "EtlJob", "IngestLambdaRole"}),
    "query": ({"EngineersWorkGroup", "AnalystsWorkGroup", "AthenaResultsBucket", "BI tools"},
              {"JfkDeparturesFilter", "IngestFunction"}),
    "orchestration": ({"CrawlAfterEtlTrigger", "ApiPullScheduleRule"}, {"EtlJob", "RawBucket"}),
    "security": ({"DataKey", "TokenKey", "GlueRole", "AnalystFullRole"}, {"RawBucket", "EtlJob"}),
    "storage": ({"LandingBucket", "RawBucket", "QuarantineBucket", "ProcessedBucket", "ArtifactsBucket",
                 "AthenaResultsBucket"}, {"EtlJob", "DataKey"}),
}


def test_every_part_is_known_and_emphasised() -> None:
    assert set(EXPECTED) == set(diagram.PARTS)
    whole = _fills(diagram.svg(templates=[DATALAKE], text_as_paths=False))
    assert MUTED not in whole.values()  # no highlight: nothing muted
    for part, (lit, muted) in EXPECTED.items():
        fills = _fills(diagram.svg(part, templates=[DATALAKE], text_as_paths=False))
        assert {label: fills[label] for label in lit} == dict.fromkeys(lit, INK), part
        assert {label: fills[label] for label in muted} == dict.fromkeys(muted, MUTED), part
        assert any(label.endswith(f"highlighted: {part} ({diagram.PARTS[part]})") for label in fills)


def test_an_unknown_part_lists_the_valid_ones() -> None:
    with pytest.raises(DiagramError) as err:
        diagram.svg("lakeformation")
    message = str(err.value)
    assert message.startswith("unknown highlight 'lakeformation': use one of ")
    for part in diagram.PARTS:
        assert part in message
    with pytest.raises(DiagramError):
        diagram.show("Ingest")


def test_show_gives_a_notebook_svg() -> None:
    shown = diagram.show("etl", templates=[DATALAKE])
    assert type(shown).__name__ == "SVG"
    assert shown.data.count(">EtlJob<") == 1
    assert "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, sans-serif" in shown.data


def test_cli_regenerates_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diagram", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "architecture.svg"),
                                               str(tmp_path / "architecture.png")]
    assert (tmp_path / "architecture.svg").read_text(encoding="utf-8") == diagram.svg()
    assert (tmp_path / "architecture.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["diagram", "--out", str(tmp_path), "--highlight", "query"]) == 0
    assert (tmp_path / "architecture-query.svg").read_text(encoding="utf-8") == diagram.svg("query")
    assert cli.main(["diagram", "--out", str(tmp_path), "--highlight", "bogus"]) == 1
    assert "unknown highlight 'bogus': use one of sources, ingest, etl" in capsys.readouterr().err
