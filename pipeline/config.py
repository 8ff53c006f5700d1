"""Options dataclasses, loaded from configs/default.yaml (the one place for defaults) plus overrides.

The dataclasses carry no default values on purpose: a value lives in the YAML only, so code and config
cannot drift apart. Tests load the real default file and override what they need.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from pipeline.errors import ConfigError
from pipeline.typed import doc, from_dict, stable_hash

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"


@dataclass
class InputOptions:
    audio_extensions: list[str] = doc("file suffixes decoded as audio (video containers: their audio track)")
    text_extensions: list[str] = doc("file suffixes read as transcripts (.txt with speaker prefixes, .srt, .vtt)")
    shows_dir: str = doc("folder of show profiles (*.yaml)")


@dataclass
class IngestOptions:
    sample_rate: int = doc("decode rate in Hz for ASR and diarization")
    max_duration_s: float = doc("longest accepted input")
    truncation_tolerance: float = doc("decoded/declared duration below this flags a truncated file")
    corrupt_below: float = doc("with damaged packets, decoded/declared duration below this is an error")


@dataclass
class TranscribeOptions:
    model: str = doc("'base' (bundled), a CTranslate2 model directory, or a hub name")
    device: str = doc("cpu, cuda or auto")
    compute_type: str = doc("CTranslate2 compute type, e.g. int8, float16")
    cpu_threads: int = doc("threads for CPU inference")
    language: str | None = doc("ISO code, or null to detect")
    task: Literal["transcribe", "translate"] = doc("Whisper task")
    beam_size: int = doc("beam width")
    batched: bool = doc("use BatchedInferencePipeline")
    batch_size: int = doc("batch size when batched")
    vad_filter: bool = doc("skip non-speech with Silero VAD")
    vad_min_silence_ms: int = doc("VAD: silence that splits speech chunks")
    word_timestamps: bool = doc("per-word timing")
    condition_on_previous_text: bool = doc("feed the previous window's text as prompt")
    repetition_penalty: float = doc("penalty for repeated tokens (>1 discourages loops)")
    no_repeat_ngram_size: int = doc("forbid repeating n-grams of this size (0 = off)")
    compression_ratio_threshold: float = doc("gzip ratio above which a window is retried hotter")
    log_prob_threshold: float = doc("average log-prob below which a window is retried hotter")
    no_speech_threshold: float = doc("no-speech probability above which a silent window is dropped")
    temperature: list[float] = doc("fallback temperatures")
    vocabulary_as: Literal["hotwords", "initial_prompt", "both", "none"] = doc("how show vocabulary is used")


@dataclass
class DedupOptions:
    enabled: bool = doc("run the dedup stage")
    fillers: list[str] = doc("fillers dropped before comparing text (えー, あの...)")
    loop_min_repeats: int = doc("a sentence or phrase repeated this many times in a row is a loop")
    loop_min_chars: int = doc("... if the repeats cover at least this many characters")
    loop_max_unit_chars: int = doc("longest repeated piece searched for inside one sentence")
    repeat_min_chars: int = doc("shorter sentences are removed only as part of a repeated passage")
    near_min_chars: int = doc("shortest sentence compared for near-duplicates")
    near_duplicate_ratio: float = doc("rapidfuzz ratio (0-100) above which sentences are near-duplicates")
    boilerplate_patterns: list[str] = doc("regular expressions for boilerplate lines")
    credit_keys: dict[str, str] = doc("credit line key -> ProgrammeCredits field")
    credits_line_max_chars: int = doc("longest bare list of names taken as a credits line")
    cross_episode: bool = doc("look for passages repeated across the batch")
    cross_use_readings: bool = doc("compare katakana readings (SudachiPy), not characters, across episodes")
    cross_window_chars: int = doc("window length (normalised characters) for cross-episode matching")
    cross_stride_chars: int = doc("step between windows")
    cross_shingle_chars: int = doc("character n-gram size for MinHash")
    cross_num_perm: int = doc("MinHash permutations")
    cross_threshold: float = doc("Jaccard similarity of two windows to count as the same")
    cross_min_passage_chars: int = doc("shortest repeated passage removed across episodes")


@dataclass
class DiarizeOptions:
    enabled: bool = doc("diarize audio (text transcripts take speakers from their prefixes)")
    min_speakers: int = doc("fewest speakers to find (a show profile may override)")
    max_speakers: int = doc("most speakers to find (a show profile may override)")
    window_s: float = doc("embedding window length in seconds")
    hop_s: float = doc("step between embedding windows in seconds")
    min_window_s: float = doc("speech regions shorter than this get no embedding; voting labels them from neighbours")
    vad_threshold: float = doc("Silero VAD speech probability above which a 32 ms chunk is speech")
    vad_min_speech_s: float = doc("VAD: shorter bursts of speech are dropped")
    vad_min_silence_s: float = doc("VAD: silence that ends a speech region (short, so regions split at turns)")
    vad_pad_s: float = doc("VAD: padding added to each side of a speech region")
    cluster_min_s: float = doc("windows at least this long are clustered; shorter ones only vote")
    affinity_keep: float = doc("share of nearest neighbours each window keeps in the clustering affinity")
    merge_threshold: float = doc("clusters whose centroids are more alike (cosine) than this are one speaker")
    min_speaker_s: float = doc("a voice found in less speech than this (seconds) is not taken for a speaker")
    split_margin: float = doc("a cluster splits only if each half's windows are this much closer to each other")
    max_cluster_windows: int = doc("longer recordings are clustered in blocks of this many windows, then linked")
    vote_temperature: float = doc("softmax temperature turning a window's centroid similarities into votes")
    frame_s: float = doc("resolution of the per-frame speaker vote in seconds")
    min_turn_s: float = doc("a speaker run shorter than this inside continuous speech joins its neighbour")
    fill_gap_s: float = doc("same-speaker segments separated by less silence than this are joined")
    cpu_threads: int = doc("torch threads for the embedding model")
    enrol_threshold: float = doc("cosine similarity to an enrolled voiceprint that names a speaker")


@dataclass
class SpeakersOptions:
    heading_pattern: str = doc("regular expression of section headings in text transcripts (not speech)")
    honorifics: list[str] = doc("suffixes stripped from names (さん, 氏, ...)")
    introduction_pattern: str = doc("regular expression whose group 1 is a name introduced in the text")


@dataclass
class EntitiesOptions:
    enabled: bool = doc("run the entities stage")
    model: str = doc("spaCy pipeline name (ja_ginza ships its weights in its wheel)")
    languages: list[str] = doc("transcript languages the model reads; other episodes get a note instead")
    batch_size: int = doc("sentences per nlp.pipe batch")
    gazetteers: list[str] = doc("gazetteer files (names, labels, aliases) for every show; profiles add their own")
    coarse_types: dict[str, list[str]] = doc("coarse type -> the fine labels it covers; other kept labels are OTHER")
    drop_labels: list[str] = doc("fine labels that are not names (dates, counts: the figures stage; occupations)")
    org_suffixes: dict[str, str] = doc("organisation word -> label, for the organisation inside a title (城西大学 助教)")
    propagate_min_chars: int = doc("shortest NER surface whose other occurrences in the episode are labelled too")


@dataclass
class SummaryOptions:
    enabled: bool = doc("write a summary into each episode record")
    key_sentences: int = doc("key sentences besides the headline")
    keywords: int = doc("keywords per episode")
    speaker_keywords: int = doc("keywords per speaker line")
    min_sentence_chars: int = doc("shorter sentences are not summary candidates (はい。そうですね。)")
    damping: float = doc("TextRank damping factor")
    coverage_balance: float = doc("key sentence choice: 1 = centrality only, lower = more weight on covering new ground")


@dataclass
class ModelsOptions:
    cache_dir: str = doc("where the bundled model is assembled and hub downloads kept")


@dataclass
class OutputOptions:
    include_words: bool = doc("keep per-word timings in episode records")


@dataclass
class SearchOptions:
    db_file: str = doc("search index file in the output folder (pipeline index / search without --db)")
    limit: int = doc("hits printed by pipeline search without --limit")
    snippet_chars: int = doc("characters of context on each side of the first match in a snippet")
    highlight_start: str = doc("put before the match in snippets")
    highlight_end: str = doc("put after the match in snippets")
    index_name: str = doc("search-cluster index name for pipeline export (bulk actions and file names)")
    export_dir: str | None = doc("folder for pipeline export; null = <output>/export")


@dataclass
class RunnerOptions:
    cache_dir: str | None = doc("stage cache folder; null = <output>/.cache")


@dataclass
class Config:
    """All options of one run."""

    input: InputOptions
    ingest: IngestOptions
    transcribe: TranscribeOptions
    dedup: DedupOptions
    diarize: DiarizeOptions
    speakers: SpeakersOptions
    entities: EntitiesOptions
    summary: SummaryOptions
    models: ModelsOptions
    output: OutputOptions
    search: SearchOptions
    runner: RunnerOptions

    def section_hash(self, name: str) -> str:
        return stable_hash(getattr(self, name))

    def hash(self) -> str:
        return stable_hash(self)


@dataclass
class Host:
    name: str
    aliases: list[str]


@dataclass
class GazetteerEntry:
    """A name to find as written (configs/gazetteer/*.yaml or a show profile's `entities`)."""

    name: str
    label: str  # GiNZA's Extended Named Entity label: Company, Person, City, Broadcast_Program, ...
    aliases: list[str]


@dataclass
class Gazetteer:
    entries: list[GazetteerEntry]


@dataclass
class ShowProfile:
    """What a show profile (configs/shows/*.yaml) says about a programme."""

    key: str
    name: str
    station: str | None
    file_prefixes: list[str]
    language: str | None
    hosts: list[Host]
    vocabulary: list[str]
    entities: list[GazetteerEntry]
    min_speakers: int | None
    max_speakers: int | None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def parse_override(text: str) -> dict[str, Any]:
    """'transcribe.beam_size=1' -> {'transcribe': {'beam_size': 1}} (the value is read as YAML)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    dotted, raw = text.split("=", 1)
    keys = [k for k in dotted.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"override {text!r} names no key")
    node: Any = yaml.safe_load(raw) if raw.strip() else None
    for key in reversed(keys):
        node = {key: node}
    return node


def load_config(
    path: Path | str | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """Defaults, then a user config file (partial is fine), then `section.key=value` overrides."""
    data = _read_yaml(DEFAULT_CONFIG)
    if path is not None and Path(path).resolve() != DEFAULT_CONFIG:
        data = _merge(data, _read_yaml(Path(path)))
    for text in overrides:
        data = _merge(data, parse_override(text))
    try:
        return from_dict(Config, data)
    except ValueError as e:
        raise ConfigError(f"invalid configuration: {e}") from e


def resolve_path(text: str) -> Path:
    """Config paths: ~ expanded; relative ones are taken from the project root, not the caller's cwd."""
    p = Path(text).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


def load_profiles(shows_dir: Path) -> list[ShowProfile]:
    profiles = []
    for path in sorted(shows_dir.glob("*.yaml")):
        data = _read_yaml(path)
        data = {
            "key": path.stem,
            "station": None,
            "file_prefixes": [path.stem],
            "language": None,
            "hosts": [],
            "vocabulary": [],
            "entities": [],
            "min_speakers": None,
            "max_speakers": None,
            **data,
        }
        for entry in data["entities"] or []:
            if isinstance(entry, dict):
                entry.setdefault("aliases", [])
        try:
            profiles.append(from_dict(ShowProfile, data, where=str(path)))
        except ValueError as e:
            raise ConfigError(f"invalid show profile: {e}") from e
    return profiles


def load_gazetteer(path: Path) -> list[GazetteerEntry]:
    data = _read_yaml(path)
    for entry in data.get("entries") or []:
        if isinstance(entry, dict):
            entry.setdefault("aliases", [])
    try:
        return from_dict(Gazetteer, data, where=str(path)).entries
    except ValueError as e:
        raise ConfigError(f"invalid gazetteer: {e}") from e


def match_profile(file_stem: str, profiles: list[ShowProfile]) -> ShowProfile | None:
    """The profile whose longest file prefix starts the file name (case-insensitive)."""
    stem = file_stem.lower()
    best: tuple[int, ShowProfile] | None = None
    for profile in profiles:
        for prefix in profile.file_prefixes:
            if stem.startswith(prefix.lower()) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), profile)
    return best[1] if best else None
