"""Export the turn records for a search cluster: Elasticsearch / OpenSearch `_bulk` NDJSON and the index body.

The bulk file alternates an action line and the turn record; the document id is the record's `id`
(`<episode_id>#<turn>`), so loading a re-export replaces documents instead of adding copies. Both files are a
pure function of turns.jsonl (no timestamps, fixed key order). Both are written to temps and renamed only once
both are written, so an export that fails (disk full) replaces neither: no mapping without its bulk file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config.options import EsAnalyzer
from pipeline.errors import DiskFullError
from pipeline.files import DISK_FULL, StagedFiles, remove_stale_temp_files
from pipeline.search.index import read_turn_records

_KEYWORD = {"type": "keyword"}
_FOLDED_KEYWORD = {"type": "keyword", "normalizer": "folded"}  # 富士通ＪＡＰＡＮ finds 富士通Japan
_JA_TEXT = {"type": "text", "analyzer": "ja_text"}


def _analysis(analyzer: EsAnalyzer) -> dict[str, Any]:
    """The ja_text analyzer (and the keywords' normalizer) for search.es_analyzer.

    bigram: built-in components only, so the index can be created on any Elasticsearch or OpenSearch: the
    standard tokenizer emits CJK characters one by one and cjk_bigram joins neighbours (the built-in `cjk`
    analyzer without its English stop words). kuromoji: words, base forms, Japanese stop words; needs the
    analysis-kuromoji plugin on every node.
    """
    folded = {"folded": {"type": "custom", "filter": ["cjk_width", "lowercase"]}}
    if analyzer == "kuromoji":
        return {
            "tokenizer": {"ja_kuromoji": {"type": "kuromoji_tokenizer", "mode": "search"}},
            "analyzer": {"ja_text": {"type": "custom", "tokenizer": "ja_kuromoji",
                                     "filter": ["kuromoji_baseform", "kuromoji_part_of_speech", "cjk_width",
                                                "ja_stop", "kuromoji_stemmer", "lowercase"]}},
            "normalizer": folded,
        }  # fmt: skip
    return {
        "analyzer": {"ja_text": {"type": "custom", "tokenizer": "standard",
                                 "filter": ["cjk_width", "lowercase", "cjk_bigram"]}},
        "normalizer": folded,
    }  # fmt: skip


@dataclass
class ExportReport:
    bulk_path: Path
    mapping_path: Path
    documents: int


def index_body(analyzer: EsAnalyzer) -> dict[str, Any]:
    """Settings and mappings for `PUT /<index>`: Japanese text through `analyzer` (search.es_analyzer), filters
    as keywords. Every field of a turn record is mapped and the mapping is strict: a document with a field the
    mapping lacks is rejected, instead of the cluster guessing its type from the first value it sees."""
    text: dict[str, Any] = dict(_JA_TEXT)
    if analyzer == "kuromoji":  # words for relevance, bigrams for substring-like matches
        text["fields"] = {"bigram": {"type": "text", "analyzer": "cjk"}}
    notes = {
        "bigram": "ja_text: standard tokenizer + cjk_width, lowercase, cjk_bigram, all built in: loads on any "
        "cluster. search.es_analyzer=kuromoji analyses words instead (needs the analysis-kuromoji plugin).",
        "kuromoji": "ja_text needs the analysis-kuromoji plugin (Elasticsearch and OpenSearch); text.bigram (the "
        "built-in cjk analyzer) matches any two-character substring, as pipeline search. "
        "search.es_analyzer=bigram needs no plugin.",
    }
    return {
        "settings": {"analysis": _analysis(analyzer)},
        "mappings": {
            "dynamic": "strict",
            "_meta": {
                "source": "broadcast-pipeline turn records (schema/turn.schema.json)",
                "analyzer": notes[analyzer],
            },
            "properties": {
                "schema_version": _KEYWORD,
                "id": _KEYWORD,
                "episode_id": _KEYWORD,
                "turn": {"type": "integer"},
                "speaker": _KEYWORD,
                "speaker_name": _FOLDED_KEYWORD,
                "speaker_role": _KEYWORD,
                "start": {"type": "float"},
                "end": {"type": "float"},
                "text": text,
                "section": {**_JA_TEXT, "fields": {"raw": _KEYWORD}},
                "show": _FOLDED_KEYWORD,
                "station": _FOLDED_KEYWORD,
                "air_date": {"type": "date", "format": "strict_date"},  # yyyy-MM-dd
                "source": _KEYWORD,
                "entities": {
                    "type": "nested",  # name and type of one entity match together
                    "dynamic": "strict",
                    "properties": {
                        "id": _KEYWORD, "name": _FOLDED_KEYWORD, "type": _KEYWORD, "text": _FOLDED_KEYWORD,
                        "span": {"type": "integer"},  # [start, end): an array of integers
                    },
                },  # fmt: skip
                "figures": {
                    "type": "nested",  # value, unit and kind of one figure match together
                    "dynamic": "strict",
                    "properties": {
                        "text": _KEYWORD, "start": {"type": "integer"}, "end": {"type": "integer"},
                        "kind": _KEYWORD, "value": {"type": "double"}, "value_max": {"type": "double"},
                        "unit": _KEYWORD, "qualifier": _KEYWORD, "basis": _KEYWORD,
                        "iso": _KEYWORD,  # 2023-06-17, 2024-09/2024-11, 06:00/09:00, P3M: not one date format
                        "counted": _KEYWORD,
                    },
                },  # fmt: skip
            },
        },
    }


def bulk_lines(records: list[dict[str, Any]], index_name: str) -> Iterator[dict[str, Any]]:
    """Action line, then the document, for every turn record."""
    for record in records:
        yield {"index": {"_index": index_name, "_id": record["id"]}}
        yield record


def export_elasticsearch(
    output_dir: Path, out_dir: Path, index_name: str, analyzer: EsAnalyzer
) -> ExportReport:
    """OUT/<index>.bulk.ndjson and OUT/<index>.mapping.json from OUTPUT/turns.jsonl; `analyzer` is
    search.es_analyzer (the CLI passes it; without it, the mapping that loads on any cluster)."""
    records = read_turn_records(output_dir)
    report = ExportReport(out_dir / f"{index_name}.bulk.ndjson", out_dir / f"{index_name}.mapping.json", len(records))
    remove_stale_temp_files(out_dir)  # of killed exports (only temps whose writer is gone)
    try:
        with StagedFiles() as staged:
            staged.write_jsonl(report.bulk_path, bulk_lines(records, index_name))
            staged.write_json(report.mapping_path, index_body(analyzer))
            staged.commit()
    except OSError as e:
        if e.errno in DISK_FULL:
            raise DiskFullError(f"disk full: could not write {e.filename}; {out_dir} keeps the previous export") from e
        raise
    return report
