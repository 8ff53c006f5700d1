"""The export loaded into a running search server, as the README's two commands do it.

No Elasticsearch or OpenSearch server installs on these machines (Debian and the package registries hold none).
The closest that does is noida-db (PyPI, MIT): one binary that answers Elasticsearch 8.15's REST API (an
emulator: its makers run Elasticsearch's own REST API tests against it, 1,735 of 1,786 pass). It rejects the
kuromoji tokenizer without the plugin and strict mappings reject unmapped fields, as Elasticsearch does.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from importlib.resources import files

import pytest

from pipeline.config import load_config
from pipeline.plan import run_pipeline
from pipeline.search.export import export_elasticsearch
from tests.conftest import SAMPLE_TEXT

CONFIG = load_config(overrides=["entities.enabled=true"])


def request(url: str, method: str = "GET", body: bytes | None = None, kind: str = "application/json") -> dict:
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": kind})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:  # the server's refusal is the answer under test
        return json.loads(e.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    binary = files("noida_db").joinpath("noida-db")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("noida")
    process = subprocess.Popen([str(binary), "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
                                "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if request(url).get("version"):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the search server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    run_pipeline([SAMPLE_TEXT], out, CONFIG)
    return out


def load(server: str, output_dir, folder, index: str, analyzer: str) -> tuple[dict, dict | None]:
    """The README's two requests: create the index from the mapping file, then _bulk the documents."""
    report = export_elasticsearch(output_dir, folder, index, analyzer)
    created = request(f"{server}/{index}", "PUT", report.mapping_path.read_bytes())
    if "error" in created:
        return created, None
    bulk = request(f"{server}/_bulk?refresh=true&filter_path=errors,items.*.error", "POST",
                   report.bulk_path.read_bytes(), "application/x-ndjson")  # fmt: skip
    return created, bulk


@pytest.mark.model
def test_the_default_mapping_and_every_document_load_and_japanese_phrases_are_found(server, output_dir, tmp_path):
    created, bulk = load(server, output_dir, tmp_path, "turns", CONFIG.search.es_analyzer)
    assert created.get("acknowledged") is True, created
    assert bulk == {"errors": False}, bulk  # zero rejected documents
    turns = sum(1 for _ in (output_dir / "turns.jsonl").open(encoding="utf-8"))
    assert request(f"{server}/turns/_count")["count"] == turns
    query = json.dumps({"query": {"match_phrase": {"text": "値上げ"}}}).encode()
    hits = request(f"{server}/turns/_search", "POST", query)["hits"]["hits"]
    assert hits and all("値上げ" in h["_source"]["text"] for h in hits)
    unmapped = b'{"index": {"_index": "turns", "_id": "x"}}\n{"id": "x", "guessed": "P1M"}\n'
    refused = request(f"{server}/_bulk?filter_path=errors,items.*.error", "POST", unmapped, "application/x-ndjson")
    assert refused["errors"] is True  # dynamic: strict, nothing left to the server's guesses


@pytest.mark.model
def test_the_kuromoji_option_needs_the_plugin(server, output_dir, tmp_path):
    created, _ = load(server, output_dir, tmp_path, "turns-kuromoji", "kuromoji")
    assert "kuromoji_tokenizer" in json.dumps(created["error"])  # what a cluster without the plugin answers
