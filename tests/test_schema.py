"""The published JSON Schemas: committed files match the code, and they reject what a consumer must not get."""

import copy
import json

import jsonschema
import pytest

from pipeline.records import SCHEMA_VERSION
from pipeline.records.schema import episode_schema, schema_texts, turn_schema

# Written by hand from the README's field list, not produced by the code under test.
TEXT_EPISODE = {
    "schema_version": SCHEMA_VERSION, "episode_id": "show/2024-03-13.txt", "status": "ok",
    "source": {"path": "in/show/2024-03-13.txt", "name": "2024-03-13.txt", "sha256": "0" * 64, "size_bytes": 12,
               "kind": "text", "format": "txt", "codec": None, "sample_rate": None, "channels": None},
    "show": {"profile": None, "name": None, "station": None, "air_date": "2024-03-13", "air_date_from": "filename"},
    "context": None,
    "transcription": {"method": "text", "language": None, "language_probability": None, "model": None,
                      "speech_duration": None, "seconds": None, "prompt": None, "recoveries": [], "corrections": []},
    "duration": None, "text": "佐藤:おはよう。",
    "segments": [{"id": 0, "start": None, "end": None, "text": "おはよう。", "speaker": "佐藤", "line": 1, "words": []}],
    "summary": None, "dedup": None, "diarization": None, "speakers": [], "turns": [], "entities": [],
    "figures": [], "notes": [], "error": None,
    "provenance": {"pipeline_version": "0.1.0", "config_hash": "abc", "models": {}, "stages": []},
}
TURN = {
    "schema_version": SCHEMA_VERSION, "id": "show/2024-03-13.txt#0", "episode_id": "show/2024-03-13.txt",
    "turn": 0, "speaker": "佐藤", "speaker_name": "佐藤花子", "speaker_role": "host", "start": None, "end": None,
    "text": "おはよう。", "section": None, "show": None, "station": None, "air_date": "2024-03-13",
    "source": "2024-03-13.txt", "entities": [], "figures": [],
}


def test_committed_schemas_are_what_the_code_generates():
    for path, text in schema_texts().items():
        assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), f"{path} is stale: run `make schema`"


def test_hand_written_records_validate():
    for record, schema in ((TEXT_EPISODE, episode_schema()), (TURN, turn_schema())):
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(record, schema)


def _changed(record, path, value):
    out = copy.deepcopy(record)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


@pytest.mark.parametrize("path, value", [
    (("surprise",), 1),  # unknown top-level field
    (("status",), "maybe"),  # not one of ok/error
    (("schema_version",), "0.1"),
    (("source", "kind"), "video"),
    (("source", "extra"), True),  # unknown field in a nested object
    (("segments", 0, "id"), "zero"),  # wrong type deep inside
    (("show",), KeyError),  # a required field missing
    (("provenance", "stages"), [{"stage": "ingest"}]),  # an incomplete nested record
])  # fmt: skip
def test_invalid_episode_records_are_rejected(path, value):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_changed(TEXT_EPISODE, path, value), episode_schema())


def test_invalid_turn_record_is_rejected():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_changed(TURN, ("entities",), KeyError), turn_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_changed(TURN, ("turn",), -0.5), turn_schema())
