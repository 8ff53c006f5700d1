"""Export for a search cluster: _bulk NDJSON of the pipeline's turn records and the index settings/mapping."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.output import TURNS_FILE
from pipeline.files import read_jsonl
from pipeline.records import Figure, TurnEntity, TurnRecord
from pipeline.search.export import export_elasticsearch
from pipeline.plan import run_pipeline
from tests.conftest import SAMPLE_TEXT

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    """The pipeline's output for the bundled text sample."""
    out = tmp_path_factory.mktemp("out")
    run_pipeline([SAMPLE_TEXT], out, load_config())
    return out


def test_bulk_file_alternates_actions_and_turn_records(output_dir, tmp_path):
    index_name = load_config().search.index_name
    report = export_elasticsearch(output_dir, tmp_path, index_name)
    records = read_jsonl(output_dir / TURNS_FILE)
    text = report.bulk_path.read_text(encoding="utf-8")
    assert text.endswith("\n")  # _bulk wants the last line terminated
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 * len(records) == 2 * report.documents
    actions, documents = lines[0::2], lines[1::2]
    assert all(list(a) == ["index"] and a["index"]["_index"] == index_name for a in actions)
    ids = [a["index"]["_id"] for a in actions]
    assert len(set(ids)) == len(ids)
    assert ids == [r["id"] for r in records] == [d["id"] for d in documents]
    assert documents == records


def test_export_is_byte_identical_when_the_input_is_unchanged(output_dir, tmp_path):
    first = export_elasticsearch(output_dir, tmp_path / "a", "turns")
    second = export_elasticsearch(output_dir, tmp_path / "b", "turns")
    assert first.bulk_path.read_bytes() == second.bulk_path.read_bytes()
    assert first.mapping_path.read_bytes() == second.mapping_path.read_bytes()


def test_mapping_uses_kuromoji_for_text_and_maps_every_record_field(output_dir, tmp_path):
    report = export_elasticsearch(output_dir, tmp_path, "turns")
    body = json.loads(report.mapping_path.read_text(encoding="utf-8"))
    analysis = body["settings"]["analysis"]
    properties = body["mappings"]["properties"]
    text_analyzer = analysis["analyzer"][properties["text"]["analyzer"]]
    assert analysis["tokenizer"][text_analyzer["tokenizer"]]["type"] == "kuromoji_tokenizer"
    assert properties["air_date"]["type"] == "date"
    assert properties["start"]["type"] == properties["end"]["type"] == "float"
    assert {properties[k]["type"] for k in ("speaker", "speaker_name", "show")} == {"keyword"}
    assert properties["entities"]["properties"]["name"]["type"] == "keyword"
    for cls, mapped in ((TurnRecord, properties), (TurnEntity, properties["entities"]["properties"]),
                        (Figure, properties["figures"]["properties"])):  # fmt: skip
        assert set(cls.model_fields) == set(mapped), cls.__name__  # nothing left to dynamic mapping


def test_cli_export(output_dir, tmp_path):
    result = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(output_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    name = load_config().search.index_name
    assert (tmp_path / f"{name}.bulk.ndjson").is_file() and (tmp_path / f"{name}.mapping.json").is_file()
    missing = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(tmp_path)])
    assert missing.exit_code == 1 and "pipeline run" in missing.output
