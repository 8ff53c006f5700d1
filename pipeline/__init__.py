"""Broadcast and podcast audio (or scraped transcripts) in, structured searchable JSONL out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("broadcast-pipeline")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
