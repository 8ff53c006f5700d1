"""Option sections, loaded from configs/default.yaml (the one place for defaults) plus overrides.

The classes carry no default values on purpose: a value lives in the YAML only, so code and config cannot
drift apart. Each field declares its range or form, checked when the configuration is loaded, so a bad value
stops the run at once with the key named. Tests load the real default file and override what they need.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml

from pipeline.errors import ConfigError
from pipeline.records.base import Record, doc, from_dict, stable_hash

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"


class InputOptions(Record):
    audio_extensions: list[str] = doc("file suffixes decoded as audio (video containers: their audio track)")
    text_extensions: list[str] = doc("file suffixes read as transcripts (.txt with speaker prefixes, .srt, .vtt)")
    skip_folders: list[str] = doc("folder names not read when an input folder is read recursively")
    shows_dir: str = doc("folder of show profiles (*.yaml)")


class IngestOptions(Record):
    sample_rate: int = doc("decode rate in Hz for ASR and diarization", gt=0)
    max_duration_s: float = doc("longest accepted input", gt=0)
    truncation_tolerance: float = doc("decoded/declared duration below this flags a truncated file", ge=0, le=1)
    corrupt_below: float = doc("with damaged packets, decoded/declared duration below this is an error", ge=0, le=1)


class TranscribeOptions(Record):
    model: str = doc("'base' (bundled), a CTranslate2 model directory, or a hub name")
    device: str = doc("cpu, cuda or auto")
    compute_type: str = doc("CTranslate2 compute type, e.g. int8, float16")
    cpu_threads: int = doc("threads for CPU inference", ge=0)
    language: str | None = doc("ISO code, or null to detect")
    task: Literal["transcribe", "translate"] = doc("Whisper task")
    beam_size: int = doc("beam width", ge=1)
    batched: bool = doc("use BatchedInferencePipeline")
    batch_size: int = doc("batch size when batched", ge=1)
    vad_filter: bool = doc("skip non-speech with Silero VAD")
    vad_min_silence_ms: int = doc("VAD: silence that splits speech chunks", ge=0)
    word_timestamps: bool = doc("per-word timing")
    condition_on_previous_text: bool = doc("feed the previous window's text as prompt")
    repetition_penalty: float = doc("penalty for repeated tokens (>1 discourages loops)", gt=0)
    no_repeat_ngram_size: int = doc("forbid repeating n-grams of this size (0 = off)", ge=0)
    compression_ratio_threshold: float = doc("gzip ratio above which a window is retried hotter", gt=0)
    log_prob_threshold: float = doc("average log-prob below which a window is retried hotter")
    no_speech_threshold: float = doc("no-speech probability above which a silent window is dropped", ge=0, le=1)
    temperature: list[float] = doc("fallback temperatures")
    vocabulary_as: Literal["hotwords", "initial_prompt", "both", "none"] = doc("how show vocabulary is used")


class DedupOptions(Record):
    enabled: bool = doc("run the dedup stage")
    fillers: list[str] = doc("fillers dropped before comparing text (えー, あの...)")
    loop_min_repeats: int = doc("a sentence or phrase repeated this many times in a row is a loop", ge=2)
    loop_min_chars: int = doc("... if the repeats cover at least this many characters", ge=1)
    loop_max_unit_chars: int = doc("longest repeated piece searched for inside one sentence", ge=1)
    repeat_min_chars: int = doc("shorter sentences are removed only as part of a repeated passage", ge=1)
    near_min_chars: int = doc("shortest sentence compared for near-duplicates", ge=1)
    near_duplicate_ratio: float = doc("rapidfuzz ratio (0-100) above which sentences are near-duplicates", ge=0, le=100)
    boilerplate_patterns: list[str] = doc("regular expressions for boilerplate lines")
    credit_keys: dict[str, str] = doc("credit line key -> ProgrammeCredits field")
    credits_line_max_chars: int = doc("longest bare list of names taken as a credits line", ge=1)
    cross_episode: bool = doc("look for passages repeated across the batch")
    cross_use_readings: bool = doc("compare katakana readings (SudachiPy), not characters, across episodes")
    cross_window_chars: int = doc("window length (normalised characters) for cross-episode matching", ge=1)
    cross_stride_chars: int = doc("step between windows", ge=1)
    cross_shingle_chars: int = doc("character n-gram size for MinHash", ge=1)
    cross_num_perm: int = doc("MinHash permutations", ge=1)
    cross_threshold: float = doc("Jaccard similarity of two windows to count as the same", gt=0, le=1)
    cross_min_passage_chars: int = doc("shortest repeated passage removed across episodes", ge=1)


class DiarizeOptions(Record):
    enabled: bool = doc("diarize audio (text transcripts take speakers from their prefixes)")
    min_speakers: int = doc("fewest speakers to find (a show profile may override)", ge=1)
    max_speakers: int = doc("most speakers to find (a show profile may override)", ge=1)
    window_s: float = doc("embedding window length in seconds", gt=0)
    hop_s: float = doc("step between embedding windows in seconds", gt=0)
    min_window_s: float = doc("speech regions shorter than this get no embedding; voting labels them from neighbours", ge=0)
    vad_threshold: float = doc("Silero VAD speech probability above which a 32 ms chunk is speech", gt=0, lt=1)
    vad_min_speech_s: float = doc("VAD: shorter bursts of speech are dropped", ge=0)
    vad_min_silence_s: float = doc("VAD: silence that ends a speech region (short, so regions split at turns)", ge=0)
    vad_pad_s: float = doc("VAD: padding added to each side of a speech region", ge=0)
    cluster_min_s: float = doc("windows at least this long are clustered; shorter ones only vote", ge=0)
    affinity_keep: float = doc("share of nearest neighbours each window keeps in the clustering affinity", gt=0, le=1)
    merge_threshold: float = doc("clusters whose centroids are more alike (cosine) than this are one speaker", ge=-1, le=1)
    min_speaker_s: float = doc("a voice found in less speech than this (seconds) is not taken for a speaker", ge=0)
    split_margin: float = doc("a cluster splits only if each half's windows are this much closer to each other", ge=0)
    max_cluster_windows: int = doc("longer recordings are clustered in blocks of this many windows, then linked", ge=2)
    vote_temperature: float = doc("softmax temperature turning a window's centroid similarities into votes", gt=0)
    frame_s: float = doc("resolution of the per-frame speaker vote in seconds", gt=0)
    min_turn_s: float = doc("a speaker run shorter than this inside continuous speech joins its neighbour", ge=0)
    fill_gap_s: float = doc("same-speaker segments separated by less silence than this are joined", ge=0)
    cpu_threads: int = doc("torch threads for the embedding model", ge=0)
    enrol_threshold: float = doc("cosine similarity to an enrolled voiceprint that names a speaker", ge=-1, le=1)


class SpeakersOptions(Record):
    heading_pattern: str = doc("regular expression of section headings in text transcripts (not speech)")
    honorifics: list[str] = doc("suffixes stripped from names (さん, 氏, ...)")
    introduction_pattern: str = doc("regular expression whose group 1 is a name introduced in the text")


class EntitiesOptions(Record):
    enabled: bool = doc("run the entities stage")
    model: str = doc("spaCy pipeline name (ja_ginza ships its weights in its wheel)")
    languages: list[str] = doc("transcript languages the model reads; other episodes get a note instead")
    batch_size: int = doc("sentences per nlp.pipe batch", ge=1)
    gazetteers: list[str] = doc("gazetteer files (names, labels, aliases) for every show; profiles add their own")
    coarse_types: dict[str, list[str]] = doc("coarse type -> the fine labels it covers; other kept labels are OTHER")
    drop_labels: list[str] = doc("fine labels that are not names (dates, counts: the figures stage; occupations)")
    org_suffixes: dict[str, str] = doc("organisation word -> label, for the organisation inside a title (城西大学 助教)")
    propagate_min_chars: int = doc("shortest NER surface whose other occurrences in the episode are labelled too", ge=1)


class SummaryOptions(Record):
    enabled: bool = doc("write a summary into each episode record")
    key_sentences: int = doc("key sentences besides the headline", ge=0)
    keywords: int = doc("keywords per episode", ge=0)
    speaker_keywords: int = doc("keywords per speaker line", ge=0)
    min_sentence_chars: int = doc("shorter sentences are not summary candidates (はい。そうですね。)", ge=0)
    damping: float = doc("TextRank damping factor", gt=0, lt=1)
    coverage_balance: float = doc("key sentence choice: 1 = centrality only, lower = more weight on covering new ground", ge=0, le=1)


class ModelsOptions(Record):
    cache_dir: str = doc("where the bundled model is assembled and hub downloads kept")


class OutputOptions(Record):
    include_words: bool = doc("keep per-word timings in episode records")


class SearchOptions(Record):
    db_file: str = doc("search index file in the output folder (pipeline index / search without --db)")
    limit: int = doc("hits printed by pipeline search without --limit", ge=1)
    snippet_chars: int = doc("characters of context on each side of the first match in a snippet", ge=0)
    highlight_start: str = doc("put before the match in snippets")
    highlight_end: str = doc("put after the match in snippets")
    index_name: str = doc("search-cluster index name for pipeline export (bulk actions and file names)")
    export_dir: str | None = doc("folder for pipeline export; null = <output>/export")


class RunnerOptions(Record):
    cache_dir: str | None = doc("stage cache folder; null = <output>/.cache")
    executor: Literal["local"] = doc("where per-file stages run: local = in this process, one file at a time")


class Config(Record):
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


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
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
    data = read_yaml(DEFAULT_CONFIG)
    if path is not None and Path(path).resolve() != DEFAULT_CONFIG:
        data = _merge(data, read_yaml(Path(path)))
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


