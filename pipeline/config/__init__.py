"""Options (configs/default.yaml plus overrides) and show profiles, validated when loaded."""

from pipeline.config.options import (
    DEFAULT_CONFIG, PROJECT_ROOT, AlertsOptions, ClipOptions, Config, DedupOptions, DiarizeOptions, EntitiesOptions, FiguresOptions, IngestOptions,
    InputOptions, ModelsOptions, OutputOptions, ReportOptions, RunnerOptions, SearchOptions, SpeakersOptions, SummaryOptions,
    TranscribeOptions, CorrectOptions, RecoverOptions, load_config, parse_override, read_yaml, resolve_path,
)  # fmt: skip
from pipeline.config.profiles import GazetteerEntry, Host, ShowProfile, load_gazetteer, load_profiles, match_profile

__all__ = [
    "DEFAULT_CONFIG", "PROJECT_ROOT", "AlertsOptions", "ClipOptions", "Config", "DedupOptions", "DiarizeOptions", "EntitiesOptions", "FiguresOptions",
    "GazetteerEntry", "Host", "IngestOptions", "InputOptions", "ModelsOptions", "OutputOptions", "ReportOptions",
    "RunnerOptions",
    "SearchOptions", "CorrectOptions", "RecoverOptions", "ShowProfile", "SpeakersOptions", "SummaryOptions", "TranscribeOptions", "load_config",
    "load_gazetteer", "load_profiles", "match_profile", "parse_override", "read_yaml", "resolve_path",
]  # fmt: skip
