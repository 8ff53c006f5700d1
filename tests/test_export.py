"""Export for a search cluster: _bulk NDJSON of the pipeline's turn records and the index settings/mapping."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.engine.output import TURNS_FILE
from pipeline.files import read_jsonl
from pipeline.records import Figure, TurnEntity, TurnRecord, to_dict
from pipeline.records.schema import TURN_SCHEMA_PATH
from pipeline.search.export import export_elasticsearch, index_body
from pipeline.plan import run_pipeline
from tests.conftest import SAMPLE_TEXT

ANALYZER = load_config().search.es_analyzer  # the configured default

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    """The pipeline's output for the bundled text sample."""
    out = tmp_path_factory.mktemp("out")
    run_pipeline([SAMPLE_TEXT], out, load_config())
    return out


def test_bulk_file_alternates_actions_and_turn_records(output_dir, tmp_path):
    index_name = load_config().search.index_name
    report = export_elasticsearch(output_dir, tmp_path, index_name, ANALYZER)
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
    first = export_elasticsearch(output_dir, tmp_path / "a", "turns", ANALYZER)
    second = export_elasticsearch(output_dir, tmp_path / "b", "turns", ANALYZER)
    assert first.bulk_path.read_bytes() == second.bulk_path.read_bytes()
    assert first.mapping_path.read_bytes() == second.mapping_path.read_bytes()


# What a stock Elasticsearch / OpenSearch has without plugins (the reference's built-in analyzers, tokenizers,
# token filters and normalizer filters), to check that the default mapping needs nothing else.
BUILTIN_ANALYZERS = {"standard", "simple", "whitespace", "stop", "keyword", "pattern", "fingerprint", "cjk"}
BUILTIN_TOKENIZERS = {
    "standard", "letter", "lowercase", "whitespace", "uax_url_email", "classic", "thai", "ngram", "edge_ngram",
    "keyword", "pattern", "simple_pattern", "simple_pattern_split", "char_group", "path_hierarchy",
}  # fmt: skip
BUILTIN_TOKEN_FILTERS = {
    "apostrophe", "asciifolding", "cjk_bigram", "cjk_width", "classic", "common_grams", "decimal_digit",
    "delimited_payload", "edge_ngram", "elision", "fingerprint", "keep", "keep_types", "keyword_marker",
    "keyword_repeat", "kstem", "length", "limit", "lowercase", "min_hash", "ngram", "pattern_capture",
    "pattern_replace", "porter_stem", "remove_duplicates", "reverse", "shingle", "snowball", "stemmer",
    "stemmer_override", "stop", "synonym", "synonym_graph", "trim", "truncate", "unique", "uppercase",
    "word_delimiter", "word_delimiter_graph",
}  # fmt: skip
# The only token filters a normalizer accepts (they work on single characters).
NORMALIZER_FILTERS = {
    "arabic_normalization", "asciifolding", "bengali_normalization", "cjk_width", "decimal_digit", "elision",
    "german_normalization", "hindi_normalization", "indic_normalization", "lowercase", "pattern_replace",
    "persian_normalization", "scandinavian_folding", "serbian_normalization", "sorani_normalization", "trim",
    "uppercase",
}  # fmt: skip
# What the analysis-kuromoji plugin adds.
KUROMOJI = {
    "kuromoji", "kuromoji_tokenizer", "kuromoji_baseform", "kuromoji_part_of_speech", "kuromoji_stemmer", "ja_stop",
    "kuromoji_readingform", "kuromoji_number", "kuromoji_iteration_mark", "kuromoji_completion",
}  # fmt: skip

# Java date formats the mapping may name, as strptime patterns plus the shape they accept exactly.
DATE_FORMATS = {"strict_date": ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}")}
OBJECT_TYPES = {"object", "nested"}
INT_RANGES = {"integer": 2**31, "long": 2**63, "short": 2**15, "byte": 2**7}
KEYWORD_MAX_BYTES = 32766  # Lucene's longest term: a longer keyword value fails the document


def analysis_components(analysis):
    """(what, name) of every tokenizer and filter the analyzers and normalizers use, by their type."""
    def resolve(kind, name):
        return analysis.get(kind, {}).get(name, {}).get("type", name)

    for analyzer in analysis.get("analyzer", {}).values():
        assert analyzer["type"] == "custom"
        yield "tokenizer", resolve("tokenizer", analyzer["tokenizer"])
        for f in analyzer.get("filter", []):
            yield "filter", resolve("filter", f)
        for f in analyzer.get("char_filter", []):
            yield "char_filter", resolve("char_filter", f)
    for normalizer in analysis.get("normalizer", {}).values():
        assert set(normalizer["filter"]) <= NORMALIZER_FILTERS, normalizer
        yield from (("filter", resolve("filter", f)) for f in normalizer["filter"])


def not_builtin(body):
    """The analysis components and field analyzers of an index body that a cluster without plugins lacks."""
    analysis = body["settings"]["analysis"]
    missing = {name for kind, name in analysis_components(analysis)
               if name not in (BUILTIN_TOKENIZERS if kind == "tokenizer" else BUILTIN_TOKEN_FILTERS)}  # fmt: skip
    for field in mapped_fields(body["mappings"]):
        if (analyzer := field.get("analyzer")) and analyzer not in analysis.get("analyzer", {}):
            missing |= {analyzer} - BUILTIN_ANALYZERS
        if (normalizer := field.get("normalizer")) is not None:
            assert normalizer in analysis["normalizer"], normalizer
    return missing


def mapped_fields(mapping):
    """Every field mapping under `mapping`, sub-fields (`fields`) included."""
    for field in mapping.get("properties", {}).values():
        yield field
        yield from field.get("fields", {}).values()
        yield from mapped_fields(field)


def mapping_problems(document, mapping, path=""):
    """Why a cluster would reject `document` (or map part of it by guessing), under a strict mapping: a field the
    mapping lacks, or a value its declared type does not take. Empty when the document loads as mapped."""
    problems = []
    if mapping.get("dynamic") != "strict":
        problems.append(f"{path or 'the mapping'}: not dynamic: strict")
    for key, value in document.items():
        where = f"{path}{key}"
        field = mapping["properties"].get(key)
        if field is None:
            problems.append(f"{where}: not in the mapping")
            continue
        for item in value if isinstance(value, list) else [value]:  # a field holds a value or an array of them
            problems += value_problems(item, field, where)
    return problems


def value_problems(value, field, where):
    kind = field.get("type", "object")
    if value is None:  # null is a missing value for every type
        return []
    if kind in OBJECT_TYPES:
        if not isinstance(value, dict):
            return [f"{where}: {kind} field holds {value!r}"]
        return mapping_problems(value, {"dynamic": field.get("dynamic", "strict"), **field}, f"{where}.")
    if isinstance(value, (dict, list)):
        return [f"{where}: a {kind} field holds an object or a nested array"]
    if kind in ("keyword", "text"):
        ok = isinstance(value, str) and (kind == "text" or len(value.encode("utf-8")) <= KEYWORD_MAX_BYTES)
    elif kind in INT_RANGES:
        ok = isinstance(value, int) and not isinstance(value, bool) and -INT_RANGES[kind] <= value < INT_RANGES[kind]
    elif kind in ("float", "double"):
        limit = 3.4e38 if kind == "float" else 1.7e308
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < limit
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "date":
        strptime, shape = DATE_FORMATS[field["format"]]  # a KeyError: a format this check does not know
        try:
            ok = isinstance(value, str) and re.fullmatch(shape, value) and dt.datetime.strptime(value, strptime)
        except ValueError:
            ok = False
    else:
        return [f"{where}: type {kind} is not checked here"]
    return [] if ok else [f"{where}: {value!r} is not {kind}" + (f" ({field['format']})" if kind == "date" else "")]


def schema_problems(schema, mapping, defs, path=""):
    """Fields of the turn JSON Schema that the mapping lacks or maps as another kind of value (so a field added to
    the records fails here even before any document carries a value for it)."""
    compatible = {"string": {"keyword", "text", "date"}, "integer": set(INT_RANGES), "number": {"float", "double"},
                  "boolean": {"boolean"}, "object": OBJECT_TYPES}  # fmt: skip
    problems = []
    for key, prop in schema["properties"].items():
        where, field = f"{path}{key}", mapping["properties"].get(key)
        if field is None:
            problems.append(f"{where}: not in the mapping")
            continue
        options = prop.get("anyOf", [prop])
        types = {o["type"] for o in options if o.get("type") != "null"} | {"object" for o in options if "$ref" in o}
        items = [o["items"] for o in options if o.get("type") == "array"]
        if items:  # an array maps as its items do
            types = (types - {"array"}) | {"object" if "$ref" in i else i["type"] for i in items}
        kind = field.get("type", "object")
        if not any(kind in compatible[t] for t in types):
            problems.append(f"{where}: {types} mapped as {kind}")
        ref = next((o.get("$ref") or o.get("items", {}).get("$ref") for o in options
                    if "$ref" in o or "$ref" in o.get("items", {})), None)  # fmt: skip
        if ref and kind in OBJECT_TYPES:
            problems += schema_problems(defs[ref.rsplit("/", 1)[1]], field, defs, f"{where}.")
    return problems


def full_record():
    """A turn record with every field set, the figure the README's user saw guessed as a date (P1M) among them."""
    figure = Figure(text="約1か月", start=0, end=4, kind="duration", value=1, value_max=2, unit="か月",
                    qualifier="approx", basis="前年比", iso="P1M", counted="食費")  # fmt: skip
    entity = TurnEntity(id="E0", name="東都大学", type="ORG", text="東都大学", span=[5, 9])
    return to_dict(TurnRecord(
        schema_version="1.5", id="x_2024-03-13.txt#0", episode_id="x_2024-03-13.txt", turn=0,
        speaker="SPEAKER_00", speaker_name="山田太郎", speaker_role="host", start=1.5, end=3.25,
        text="約1か月、東都大学で。", section="◆見出し", show="あさラジ", station="サンプルFM", air_date="2024-03-13",
        source="x_2024-03-13.txt", entities=[entity],
        figures=[figure, figure.model_copy(update={"kind": "date", "iso": "2024-09/2024-11", "value": None})],
    ))  # fmt: skip


@pytest.fixture(scope="module")
def exported(output_dir, tmp_path_factory):
    """The default export of the sample's records: the index body and the documents of the bulk file."""
    folder = tmp_path_factory.mktemp("export")
    report = export_elasticsearch(output_dir, folder, "turns", load_config().search.es_analyzer)
    lines = [json.loads(line) for line in report.bulk_path.read_text(encoding="utf-8").splitlines()]
    return json.loads(report.mapping_path.read_text(encoding="utf-8")), lines[1::2]


def test_every_exported_document_fits_the_strict_mapping(exported):
    body, documents = exported
    mappings = body["mappings"]
    assert mappings["dynamic"] == "strict"  # a field the mapping lacks fails its document instead of being guessed
    assert any(d["figures"] for d in documents) and any(d["entities"] for d in documents)
    assert any(f["iso"] == "P1M" for d in documents for f in d["figures"])  # guessed as a date without a mapping
    for document in [*documents, full_record()]:
        assert mapping_problems(document, mappings) == [], document["id"]
    assert mappings["properties"]["figures"]["properties"]["iso"]["type"] == "keyword"
    assert mappings["properties"]["air_date"] == {"type": "date", "format": "strict_date"}


def test_the_mapping_covers_every_field_of_the_turn_schema(exported):
    body, _ = exported
    schema = json.loads(TURN_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema_problems(schema, body["mappings"], schema["$defs"]) == []
    for cls, mapped in ((TurnRecord, body["mappings"]), (TurnEntity, body["mappings"]["properties"]["entities"]),
                        (Figure, body["mappings"]["properties"]["figures"])):  # fmt: skip
        assert set(cls.model_fields) == set(mapped["properties"]), cls.__name__  # nothing left to dynamic mapping


def test_the_checks_catch_what_a_cluster_rejects(exported):
    body, documents = exported
    mappings, document = body["mappings"], documents[0]
    assert mapping_problems({**document, "extra": 1}, mappings) == ["extra: not in the mapping"]
    figure = {**full_record()["figures"][0], "note": "x"}
    assert mapping_problems({**document, "figures": [figure]}, mappings) == ["figures.note: not in the mapping"]
    assert mapping_problems({**document, "air_date": "2024-3-13"}, mappings) == [
        "air_date: '2024-3-13' is not date (strict_date)"
    ]
    assert mapping_problems({**document, "turn": "3"}, mappings) == ["turn: '3' is not integer"]
    assert mapping_problems({**document, "speaker": 7}, mappings) == ["speaker: 7 is not keyword"]
    assert mapping_problems({**document, "entities": ["E0"]}, mappings) == ["entities: nested field holds 'E0'"]
    schema = json.loads(TURN_SCHEMA_PATH.read_text(encoding="utf-8"))
    schema["$defs"]["Figure"]["properties"]["note"] = {"type": "string"}
    assert schema_problems(schema, mappings, schema["$defs"]) == ["figures.note: not in the mapping"]
    assert not_builtin(index_body("kuromoji"))


def test_the_default_analysis_is_built_in_and_kuromoji_is_an_option(exported):
    body, _ = exported
    assert not_builtin(body) == set()
    assert "kuromoji" not in json.dumps(body["settings"])
    analysis, properties = body["settings"]["analysis"], body["mappings"]["properties"]
    assert analysis["analyzer"][properties["text"]["analyzer"]] == {
        "type": "custom", "tokenizer": "standard", "filter": ["cjk_width", "lowercase", "cjk_bigram"],
    }  # fmt: skip

    kuromoji = index_body("kuromoji")
    assert not_builtin(kuromoji) and not_builtin(kuromoji) <= KUROMOJI
    analysis, properties = kuromoji["settings"]["analysis"], kuromoji["mappings"]["properties"]
    text_analyzer = analysis["analyzer"][properties["text"]["analyzer"]]
    assert analysis["tokenizer"][text_analyzer["tokenizer"]]["type"] == "kuromoji_tokenizer"
    assert properties["text"]["fields"]["bigram"]["analyzer"] == "cjk"
    assert kuromoji["mappings"]["dynamic"] == "strict"
    others = {k: v for k, v in properties.items() if k != "text"}  # only the analysis of `text` differs
    assert others == {k: v for k, v in body["mappings"]["properties"].items() if k != "text"}


def test_cli_export(output_dir, tmp_path):
    result = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(output_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    name = load_config().search.index_name
    assert (tmp_path / f"{name}.bulk.ndjson").is_file() and (tmp_path / f"{name}.mapping.json").is_file()
    options = ["--out", str(tmp_path / "k"), "--set", "search.es_analyzer=kuromoji"]
    kuromoji = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(output_dir), *options])
    assert kuromoji.exit_code == 0, kuromoji.output
    body = json.loads((tmp_path / "k" / f"{name}.mapping.json").read_text(encoding="utf-8"))
    assert body == index_body("kuromoji")
    missing = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(tmp_path)])
    assert missing.exit_code == 1 and "pipeline run" in missing.output
