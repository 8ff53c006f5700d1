import json

import jsonschema
import pytest

from pipeline.emit import SCHEMA_PATH, episode_record, episode_schema
from pipeline.ingest import blank_episode
from pipeline.records import SCHEMA_VERSION


def test_committed_schema_is_what_the_code_generates():
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == episode_schema(), (
        "schema/episode.schema.json is stale: run `make schema`"
    )


def test_schema_is_valid_and_strict(tmp_path, config):
    schema = episode_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    path = tmp_path / "x.txt"
    path.write_text("テスト\n", encoding="utf-8")
    record = episode_record(blank_episode(path, "0" * 64, "text", "h"), config.output)
    jsonschema.validate(record, schema)
    assert record["schema_version"] == SCHEMA_VERSION
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "surprise": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "status": "maybe"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "schema_version": "0.1"}, schema)
