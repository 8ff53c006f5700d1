import json

import jsonschema
import pytest

from pipeline.emit import SCHEMA_PATH, episode_record, episode_schema, schema_texts
from pipeline.ingest import blank_episode
from pipeline.records import SCHEMA_VERSION


def test_committed_schemas_are_what_the_code_generates():
    for path, text in schema_texts().items():
        assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), f"{path} is stale: run `make schema`"
    assert SCHEMA_PATH in schema_texts()


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
