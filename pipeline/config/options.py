"""Option sections, loaded from configs/default.yaml (the one place for defaults) plus overrides.

The classes carry no default values on purpose: a value lives in the YAML only, so code and config cannot
drift apart. Each field declares its range or form, checked when the configuration is loaded, so a bad value
stops the run at once with the key named. Tests load the real default file and override what they need.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, model_validator

from pipeline.errors import ConfigError
from pipeline.records.base import Record, doc, from_dict, stable_hash

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"

# Most hits one search returns (search.limit, `pipeline search --limit`): far above any page of hits, and far
# below the 64-bit integer SQLite's LIMIT takes.
MAX_SEARCH_LIMIT = 1_000_000


# --- forms of option values, checked when the configuration is loaded --------------------------------------------


def _not_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _regex(text: str) -> str:
    """Compiled at load: a typo in a pattern stops the run instead of turning a stage off for the batch."""
    try:
        pattern = re.compile(text)
    except re.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    if pattern.search(""):
        raise ValueError("matches empty text, so it would match every line")
    return text


def _has_group(text: str) -> str:
    if re.compile(text).groups < 1:
        raise ValueError("needs a group 1, (...), around the name")
    return text


def _plain_name(text: str) -> str:
    """A file or folder name inside a known folder: no separators and no `..`, so it cannot point elsewhere."""
    if text in ("", ".", "..") or any(ch in "/\\" or not ch.isprintable() for ch in text):
        raise ValueError("must be a plain name: not empty, no / or \\, not . or .., no control characters")
    return text


def _suffix(text: str) -> str:
    if not re.fullmatch(r"\.[a-z0-9]+", text):
        raise ValueError("must be a dot and lower-case letters or digits (.mp3): files are matched on their "
                         "lower-cased suffix")  # fmt: skip
    return text


def _context_suffix(text: str) -> str:
    if not re.fullmatch(r"(\.[a-z0-9]+){2,}", text):
        raise ValueError("must be two or more dot-suffixes in lower case (.notes.txt), so a notes file is never "
                         "taken for a transcript of its own name")  # fmt: skip
    return text


def _language(text: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}", text):
        raise ValueError("must be an ISO 639 language code in lower case (ja, en, yue)")
    return text


def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("must be printable characters (it is printed on the terminal as it is)")
    return text


def _index_name(text: str) -> str:
    """Elasticsearch/OpenSearch refuse other index names; the name is also the export files' name."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._+-]{0,254}", text):
        raise ValueError("must be at most 255 lower-case letters, digits, '.', '_', '-' or '+', starting with a "
                         "letter or digit (a search-cluster index name, and the export files' name)")  # fmt: skip
    return text


NonEmpty = Annotated[str, AfterValidator(_not_empty)]
Regex = Annotated[str, AfterValidator(_regex)]
PlainName = Annotated[str, AfterValidator(_plain_name)]
Suffix = Annotated[str, AfterValidator(_suffix)]
Language = Annotated[str, AfterValidator(_language)]
ContextSuffix = Annotated[str, AfterValidator(_context_suffix)]
Printable = Annotated[str, AfterValidator(_printable)]
IndexName = Annotated[str, AfterValidator(_index_name)]
# How the search-cluster mapping analyses Japanese text (pipeline/search/export.py): bigram needs no plugin.
EsAnalyzer = Literal["bigram", "kuromoji"]


class InputOptions(Record):
    audio_extensions: list[Suffix] = doc("file suffixes decoded as audio (video containers: their audio track)")
    text_extensions: list[Suffix] = doc("file suffixes read as transcripts (.txt with speaker prefixes, .srt, .vtt)")
    skip_folders: list[PlainName] = doc("folder names not read when an input folder is read recursively")
    shows_dir: NonEmpty = doc("folder of show profiles (*.yaml)")
    context_suffix: ContextSuffix = doc("a file <stem><context_suffix> is the context (show notes) of <stem>.*")

    @model_validator(mode="after")
    def _one_kind_per_suffix(self) -> InputOptions:
        if both := sorted(set(self.audio_extensions) & set(self.text_extensions)):
            raise ValueError(f"{', '.join(both)} in both audio_extensions and text_extensions: a file is one kind")
        return self


class IngestOptions(Record):
    sample_rate: Literal[16000] = doc("decode rate in Hz for ASR and diarization: 16000, what Whisper and CAM++ read")
    max_duration_s: float = doc("longest accepted input", gt=0)
    truncation_tolerance: float = doc("decoded/declared duration below this flags a truncated file", ge=0, le=1)
    corrupt_below: float = doc(
        "with damaged packets, decoded/declared duration below this is an error (at most truncation_tolerance)",
        ge=0, le=1,
    )  # fmt: skip
    window_s: float = doc("longer audio is decoded and processed in windows of at most this many seconds", ge=60)
    window_search_s: float = doc("a window ends at the quietest moment of its last this-many seconds", gt=0, le=300)

    @model_validator(mode="after")
    def _shares(self) -> IngestOptions:
        if self.corrupt_below > self.truncation_tolerance:  # decode() checks it only below truncation_tolerance
            raise ValueError(f"corrupt_below ({self.corrupt_below}) is more than truncation_tolerance "
                             f"({self.truncation_tolerance})")  # fmt: skip
        if self.window_search_s >= self.window_s:  # the quiet cut is searched inside the window
            raise ValueError(f"window_search_s ({self.window_search_s}) must be less than window_s ({self.window_s})")
        return self


class TranscribeOptions(Record):
    model: NonEmpty = doc("'base' (bundled), a CTranslate2 model directory, or a hub name")
    device: Literal["cpu", "cuda", "auto"] = doc("CTranslate2 device")
    compute_type: Literal[
        "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16",
        "float32",
    ] = doc("CTranslate2 compute type")  # fmt: skip
    cpu_threads: int = doc("threads for CPU inference (0 = CTranslate2's default)", ge=0, le=1024)
    language: Language | None = doc("ISO code, or null to detect")
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
    log_prob_threshold: float = doc("average log-prob below which a window is retried hotter", le=0)
    no_speech_threshold: float = doc("no-speech probability above which a silent window is dropped", ge=0, le=1)
    temperature: list[Annotated[float, doc("a temperature", ge=0, le=1)]] = doc(
        "fallback temperatures, each in [0, 1]", min_length=1
    )
    vocabulary_as: Literal["hotwords", "initial_prompt", "both", "none"] = doc("how show vocabulary is used")
    max_segment_s: float = doc("a longer ASR segment is cut between words (a runaway segment is not one sentence)", gt=0)
    redecode_loops: bool = doc("re-decode, sequentially with temperature fallback, a segment that loops")
    redecode_below_logprob: float | None = doc("re-decode a batched segment whose average log-probability is lower "
                                               "(null = off)", le=0)  # fmt: skip
    redecode_min_chars_per_s: float = doc("re-decode a batched segment of at least redecode_min_s seconds that holds "
                                          "fewer letters per second (0 = off)", ge=0)  # fmt: skip
    redecode_min_s: float = doc("shortest segment judged by its letters per second", gt=0)
    context_in_prompt: bool = doc("the names and terms of the episode's notes join the show vocabulary in the prompt")
    prompt_max_chars: int = doc("longest prompt in characters (Whisper reads at most 223 prompt tokens)", ge=0, le=220)


class RecoverOptions(Record):
    enabled: bool = doc("re-decode diarized speech that has no words, and segments that copy earlier text")
    min_gap_s: float = doc("a stretch of diarized speech with no words at least this long is decoded again", gt=0)
    min_inside_gap_s: float = doc("... or this long, when it lies inside a decoded segment", gt=0)
    pad_s: float = doc("seconds of audio added on each side of a stretch decoded again", ge=0, le=2)
    join_s: float = doc("stretches without words closer than this are decoded as one", ge=0)
    max_word_s: float = doc("a word timed longer than this covers only its last max_word_s seconds", gt=0)
    copy_min_chars: int = doc("a segment of at least this many characters that repeats an earlier one is decoded "
                              "again", ge=1)  # fmt: skip
    copy_similarity: float = doc("0-100 similarity at which a segment counts as a copy of an earlier one", ge=50, le=100)


class CorrectOptions(Record):
    enabled: bool = doc("correct names and terms in ASR text by reading")
    use_batch_text: bool = doc("names found in the batch's text transcripts join the lexicon")
    max_span_words: int = doc("longest run of Sudachi words compared with the lexicon", ge=1, le=12)
    min_morae: int = doc("shortest entry (morae of its key) corrected to, from the profile, gazetteers, notes or "
                         "batch text", ge=2)  # fmt: skip
    min_morae_national: int = doc("shortest national-list entry corrected to", ge=2)
    sound_min_morae: int = doc("entries of at least this many morae also match kanji read one by one (高生 as コウセイ)",
                               ge=3)  # fmt: skip
    long_name_morae: int = doc("an entry this long (morae) is matched by its reading alone, however ordinary the "
                               "words that read like it (経済産業賞)", ge=4)  # fmt: skip
    one_off_min_morae: int = doc("entries of at least this many morae also match a reading one mora off", ge=3)
    two_off_min_morae: int = doc("... and two morae off from this many", ge=4)
    unsure_below: float = doc("a word decoded with a lower probability counts as unsure (near matches need one)",
                              ge=0, le=1)  # fmt: skip
    place_one_off_min_morae: int = doc("a municipality named right after its prefecture (石川県の和島市) may be one "
                                       "mora off from this many morae: only that prefecture's are compared", ge=2)  # fmt: skip
    national_weight: float = doc("score factor of national-list entries (episode sources weigh 1)", gt=0, le=1)
    min_score: float = doc("weakest evidence acted on (1 = same reading)", ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> CorrectOptions:
        if self.two_off_min_morae <= self.one_off_min_morae:
            raise ValueError(f"two_off_min_morae ({self.two_off_min_morae}) must be more than one_off_min_morae "
                             f"({self.one_off_min_morae})")  # fmt: skip
        return self


class DedupOptions(Record):
    enabled: bool = doc("run the dedup stage")
    fillers: list[NonEmpty] = doc("fillers dropped before comparing text (えー, あの...)")
    # At most 1000: both build a regular expression's repeat count, which has a limit of its own.
    loop_min_repeats: int = doc("a sentence or phrase repeated this many times in a row is a loop", ge=2, le=1000)
    loop_min_chars: int = doc("... if the repeats cover at least this many characters", ge=1)
    loop_max_unit_chars: int = doc("longest repeated piece searched for inside one sentence", ge=1, le=1000)
    repeat_min_chars: int = doc("shorter sentences are removed only as part of a repeated passage", ge=1)
    near_min_chars: int = doc("shortest sentence compared for near-duplicates", ge=1)
    # From 50: lower, sentences that only share words count as copies (0 removed 79% of the sample text, not 58%).
    near_duplicate_ratio: float = doc("rapidfuzz ratio above which sentences are near-duplicates", ge=50, le=100)
    near_lookback_sentences: int = doc("near-duplicates are looked for among this many kept sentences before each", ge=1)
    boilerplate_patterns: list[Regex] = doc("regular expressions for boilerplate lines")
    boilerplate_max_chars: int = doc("longer lines are never boilerplate or credit lines", ge=1)
    credit_keys: dict[NonEmpty, Literal["show_name", "air_time", "personalities", "website", "listen_until"]] = doc(
        "credit line key -> ProgrammeCredits field"
    )
    credits_line_max_chars: int = doc("longest bare list of names taken as a credits line", ge=1)
    cross_episode: bool = doc("look for passages repeated across the batch")
    cross_use_readings: bool = doc("compare katakana readings (SudachiPy), not characters, across episodes")
    cross_window_chars: int = doc("window length (normalised characters) for cross-episode matching", ge=1)
    cross_stride_chars: int = doc("step between windows (at most cross_window_chars: no text between windows)", ge=1)
    cross_shingle_chars: int = doc("character n-gram size for MinHash (at most cross_window_chars)", ge=1)
    # datasketch's LSH needs at least two bands: with fewer than 32 permutations or a threshold above 0.9 it
    # cannot always make them and every batch fails.
    cross_num_perm: int = doc("MinHash permutations", ge=32, le=1024)
    cross_threshold: float = doc("Jaccard similarity of two windows to count as the same", gt=0, le=0.9)
    cross_min_passage_chars: int = doc("shortest repeated passage removed across episodes", ge=1)
    archive: NonEmpty | None = doc("SQLite file keeping the cross-episode fingerprints of earlier runs, so that their "
                                   "episodes are matched too (relative: in the output folder); null = the batch only")  # fmt: skip

    @model_validator(mode="after")
    def _windows(self) -> DedupOptions:
        for name in ("cross_stride_chars", "cross_shingle_chars"):
            if (value := getattr(self, name)) > self.cross_window_chars:
                raise ValueError(f"{name} ({value}) is more than cross_window_chars ({self.cross_window_chars})")
        return self


class DiarizeOptions(Record):
    enabled: bool = doc("diarize audio (text transcripts take speakers from their prefixes)")
    min_speakers: int = doc("fewest speakers to find (a show profile may override)", ge=1)
    max_speakers: int = doc("most speakers to find (a show profile may override; at least min_speakers)", ge=1)
    window_s: float = doc("embedding window length in seconds", gt=0)
    hop_s: float = doc("step between embedding windows in seconds (at most window_s: windows overlap or touch)", gt=0)
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
    cpu_threads: int = doc("torch threads for the embedding model (torch refuses 0)", ge=1, le=1024)
    enrol_threshold: float = doc("cosine similarity to an enrolled voiceprint that names a speaker", ge=-1, le=1)

    @model_validator(mode="after")
    def _bounds(self) -> DiarizeOptions:
        if self.min_speakers > self.max_speakers:
            raise ValueError(f"min_speakers ({self.min_speakers}) is more than max_speakers ({self.max_speakers})")
        if self.hop_s > self.window_s:  # the speech between two windows would get no embedding
            raise ValueError(f"hop_s ({self.hop_s}) is more than window_s ({self.window_s})")
        return self


class SpeakersOptions(Record):
    heading_pattern: Regex = doc("regular expression of section headings in text transcripts (not speech)")
    honorifics: list[NonEmpty] = doc("suffixes stripped from names (さん, 氏, ...)")
    introduction_pattern: Annotated[Regex, AfterValidator(_has_group)] = doc(
        "regular expression whose group 1 is a name introduced in the text"
    )
    max_turn_s: float = doc("an audio turn longer than this is continued in a new turn of the same speaker", gt=0)
    snap_s: float = doc("an audio turn's edges move out to its speaker's diarized speech at most this far", ge=0, le=5)
    speech_names: bool = doc("name audio speakers from what is said (self-introductions, introductions, addresses)")
    speech_min_evidence: int = doc("weight of cues a name needs (a self-introduction 2, an introduction or address 1)",
                                   ge=1)  # fmt: skip
    speech_margin: float = doc("the best name needs this many times the weight of the next (and of a rival speaker)",
                               ge=1)  # fmt: skip
    speech_min_reading_morae: int = doc("a name found by its reading (ASR spelling) needs at least this many morae",
                                        ge=2)  # fmt: skip
    speech_near_min_morae: int = doc("a name of at least this many morae is also found one mora off (巻べ高雪 for 真壁隆之)",
                                     ge=3)  # fmt: skip
    speech_self_near_min_morae: int = doc("a name of at least this many morae is also found one mora off as a "
                                          "self-introduction in the speaker's first turn (応べです for 乙部)", ge=2)
    name_last_host: bool = doc("when every host listed (profile, or the notes' パーソナリティ line) but one is named, "
                               "the one unnamed voice that speaks as a host is that host (named_by elimination)")
    split_joined_voices: bool = doc("a diarized voice that what is said shows to be two people is split by the voices "
                                    "of its turns")  # fmt: skip


class EntitiesOptions(Record):
    enabled: bool = doc("run the entities stage")
    model: NonEmpty = doc("spaCy pipeline name (ja_ginza ships its weights in its wheel)")
    languages: list[Language] = doc("transcript languages the model reads; other episodes get a note instead")
    batch_size: int = doc("sentences per nlp.pipe batch", ge=1)
    gazetteers: list[NonEmpty] = doc("gazetteer files (names, labels, aliases) for every show; profiles add their own")
    name_lists: list[NonEmpty] = doc("national name lists (configs/lexicon/*.tsv: surface, reading, kind, source): names "
                                     "found as written, and what ASR text is corrected to")  # fmt: skip
    name_list_labels: dict[NonEmpty, NonEmpty] = doc("GiNZA label of each kind of the name lists (municipality: City)")
    # HASHTAG and OTHER are given by the stage itself; the records document these types.
    coarse_types: dict[Literal["PERSON", "ORG", "LOCATION", "PRODUCT", "EVENT", "WORK"], list[NonEmpty]] = doc(
        "coarse type -> the fine labels it covers (each label in one type); other kept labels are OTHER"
    )
    drop_labels: list[NonEmpty] = doc("fine labels that are not names (dates, counts: the figures stage; occupations)")
    org_suffixes: dict[NonEmpty, NonEmpty] = doc(
        "organisation word -> label, for the organisation inside a title (城西大学 助教)"
    )
    propagate_min_chars: int = doc("shortest NER surface whose other occurrences in the episode are labelled too", ge=1)
    # At most 1000: even text that SudachiPy's normalisation lengthens most (one character to 18) stays under
    # its byte limit.
    max_sentence_chars: int = doc("longer sentences go to the model in pieces cut at commas or spaces", ge=1, le=1000)

    @model_validator(mode="after")
    def _one_type_per_label(self) -> EntitiesOptions:
        seen: dict[str, str] = {}
        for coarse, labels in self.coarse_types.items():
            for label in labels:
                if seen.setdefault(label, coarse) != coarse:  # the first type would win without a word
                    raise ValueError(f"coarse_types: {label} is under both {seen[label]} and {coarse}")
        return self


class FiguresOptions(Record):
    max_line_chars: int = doc("longer lines are read in pieces of at most this many characters, cut at sentence ends",
                              ge=200)  # fmt: skip


class SummaryOptions(Record):
    enabled: bool = doc("write a summary into each episode record")
    key_sentences: int = doc("key sentences besides the headline", ge=0)
    keywords: int = doc("keywords per episode", ge=0)
    speaker_keywords: int = doc("keywords per speaker line", ge=0)
    min_sentence_chars: int = doc("shorter sentences are not summary candidates (はい。そうですね。)", ge=0)
    max_sentence_chars: int = doc("longer sentences are cut at commas or spaces", ge=1)
    max_sentences: int = doc("most candidate sentences ranked per episode (more: this many, spread evenly)", ge=1)
    damping: float = doc("TextRank damping factor", gt=0, lt=1)
    coverage_balance: float = doc("key sentence choice: 1 = centrality only, lower = more weight on covering new ground", ge=0, le=1)


class ModelsOptions(Record):
    cache_dir: NonEmpty = doc("where the bundled model is assembled and hub downloads kept")


# The per-episode files pipeline/engine/formats.py writes (output.formats, `pipeline run --formats`).
FormatName = Literal["txt", "srt", "vtt", "tsv", "rttm"]


class SubtitleOptions(Record):
    max_cue_s: float = doc("longest a subtitle cue (srt, vtt) stays on screen, in seconds", gt=0)
    max_line_chars: int = doc("most characters on a subtitle line, the speaker's name before the text included",
                              ge=10)  # fmt: skip
    max_lines: int = doc("most lines in a subtitle cue", ge=1)


class OutputOptions(Record):
    include_words: bool = doc("keep per-word timings in episode records")
    formats: list[FormatName] = doc("files written per episode under <output>/formats/ (txt, srt, vtt, tsv, rttm); "
                                    "[] for none")  # fmt: skip
    subtitles: SubtitleOptions = doc("limits of the cues of the srt and vtt files")


class SearchOptions(Record):
    db_file: PlainName = doc("search index file name in the output folder (pipeline index / search without --db)")
    limit: int = doc("hits printed by pipeline search without --limit", ge=1, le=MAX_SEARCH_LIMIT)
    snippet_chars: int = doc("characters of context on each side of the first match in a snippet", ge=0)
    highlight_start: Printable = doc("put before the match in snippets")
    highlight_end: Printable = doc("put after the match in snippets")
    index_name: IndexName = doc("search-cluster index name for pipeline export (bulk actions and file names)")
    export_dir: NonEmpty | None = doc("folder for pipeline export; null = <output>/export")
    es_analyzer: EsAnalyzer = doc("text analysis of the exported mapping: bigram (built-in filters, any cluster) or "
                                  "kuromoji (words; needs the analysis-kuromoji plugin)")  # fmt: skip
    reading_one_off_min_morae: int = doc("pipeline search --reading: a term of at least this many morae also finds "
                                         "text whose reading is one mora off (ハセガハ for ハセガワ)", ge=3)  # fmt: skip


ClipFormat = Literal["mp3", "ogg", "wav"]


class ClipOptions(Record):
    """Audio clips of alerts (pipeline/lib/clips.py): the sentence of the mention, padded and faded."""

    folder: PlainName = doc("folder in the output folder for the clips (<output>/<folder>/<alert id>.<format>)")
    pad_s: float = doc("seconds of audio kept before and after the sentence", ge=0, le=60)
    fade_ms: int = doc("fade-in and fade-out, in milliseconds", ge=0, le=5000)
    max_s: float = doc("longest clip in seconds: a longer sentence is cut to this, centred on the mention", gt=0)
    format: ClipFormat = doc("mp3 or ogg (encoded by the ffmpeg of imageio-ffmpeg), or wav")
    bitrate: NonEmpty = doc("encoder bit rate for mp3 and ogg (ffmpeg's form: 64k)")


class AlertsOptions(Record):
    """Watchlists and alerts (pipeline/stages/alerts.py): every mention of a watched term, written to alerts.jsonl."""

    enabled: bool = doc("match the watchlists and write <output>/alerts.jsonl")
    watchlists_dir: NonEmpty = doc("folder of watchlist files (<name>.yaml, one per client)")
    watchlists: list[NonEmpty] = doc("names of the watchlists used (file stems); [] = every file in the folder")
    context_chars: int = doc("characters of the turn kept on each side of the sentence as its context", ge=0)
    reading: bool = doc("also match ASR spellings of a term by their reading (富士通 written 藤ツ)")
    min_reading_score: float = doc("weakest reading match alerted (1 = same reading)", ge=0, le=1)
    titles: list[NonEmpty] = doc("titles after a watched person's family name that make it a mention of them (芹沢大臣), "
                                 "in an episode that names them in full")  # fmt: skip
    clips: bool = doc("cut an audio clip of every alert on audio (pipeline run --clips); a watchlist may ask for "
                      "clips itself (clips: true)")  # fmt: skip
    clip: ClipOptions


class ReportOptions(Record):
    folder: PlainName = doc("folder in the output folder that pipeline report writes without --out")
    keywords: int = doc("summary keywords shown per episode on the batch page", ge=0)
    mention_links: int = doc("links to mentions listed per entity in an episode's entity table (the rest counted)",
                             ge=0)  # fmt: skip


def _option_key(text: str) -> str:
    if not re.fullmatch(r"[a-z_]+\.[a-z_]+", text):
        raise ValueError("must be a section.key option name (transcribe.cpu_threads)")
    return text


OptionKey = Annotated[str, AfterValidator(_option_key)]


class RayOptions(Record):
    """The Ray executor (runner.executor: ray; pipeline/engine/ray_executor.py)."""

    address: NonEmpty | None = doc("null = start a local Ray instance; host:port = join the cluster whose head "
                                   "runs there (`ray start --head`); auto = the cluster this machine belongs to")  # fmt: skip
    local_cpus: int | None = doc("CPUs a local instance (address null) offers; null = every CPU of this machine",
                                 ge=1)  # fmt: skip
    workers: int | None = doc("worker processes, each loading every model once; null = as many as the cluster's "
                              "CPUs hold (CPUs / cpus_per_worker), at most one per file", ge=1)  # fmt: skip
    cpus_per_worker: float = doc("CPUs each worker declares; its thread pools are sized to them", gt=0)
    gpus_per_worker: float = doc("GPUs each worker declares (0 = none)", ge=0)
    memory_per_worker_gb: float = doc("memory each worker declares, so Ray places no more workers on a node than "
                                      "its memory holds (0 = not declared)", ge=0)  # fmt: skip
    max_retries: int = doc("times a file is given to a new worker after its worker died (killed, out of memory) "
                           "before the file gets an error record", ge=0)  # fmt: skip
    thread_options: list[OptionKey] = doc("options set, in each worker, to the CPUs the worker was given")


class RunnerOptions(Record):
    cache_dir: NonEmpty | None = doc("stage cache folder; null = <output>/.cache")
    executor: Literal["local", "ray"] = doc("where per-file stages run: local = in this process, one file at a "
                                            "time; ray = on Ray worker processes (runner.ray)")  # fmt: skip
    ray: RayOptions
    progress_text_weight_s: float = doc("a transcript's weight in the batch progress bar, in audio seconds", ge=0)
    slowest_files: int = doc("files listed as the slowest at the end of a run", ge=0)


class Config(Record):
    """All options of one run."""

    input: InputOptions
    ingest: IngestOptions
    transcribe: TranscribeOptions
    recover: RecoverOptions
    correct: CorrectOptions
    dedup: DedupOptions
    diarize: DiarizeOptions
    speakers: SpeakersOptions
    entities: EntitiesOptions
    figures: FiguresOptions
    summary: SummaryOptions
    models: ModelsOptions
    output: OutputOptions
    search: SearchOptions
    alerts: AlertsOptions
    report: ReportOptions
    runner: RunnerOptions

    def section_hash(self, name: str) -> str:
        return stable_hash(getattr(self, name))

    def hash(self) -> str:
        """Of the options that decide the records: every section but `runner` (where and how a run goes), so
        the same input gives the same records whichever executor or cache folder made them."""
        return stable_hash(self.model_dump(mode="json", exclude={"runner"}))

    def with_values(self, values: dict[str, Any]) -> Config:
        """This configuration with some options replaced ({'transcribe.cpu_threads': 1}), checked again."""
        data = self.model_dump(mode="json")
        for dotted, value in values.items():
            *path, key = dotted.split(".")
            node = data
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or key not in node:
                raise ConfigError(f"{dotted}: no such option")
            node[key] = value
        try:
            return from_dict(Config, data)
        except ValueError as e:
            raise ConfigError(f"invalid configuration: {e}") from e

    @model_validator(mode="after")
    def _thread_options_exist(self) -> Config:
        for dotted in self.runner.ray.thread_options:
            section, key = dotted.split(".", 1)
            if section not in Config.model_fields or key not in type(getattr(self, section)).model_fields:
                raise ValueError(f"runner.ray.thread_options: {dotted} is not an option")
        return self


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message on one line: what is wrong and where."""
    problem, mark = getattr(error, "problem", None), getattr(error, "problem_mark", None)
    if problem and mark:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split())


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {e.start}): a YAML configuration is text") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(e)}") from e
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
    try:
        node: Any = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override {'.'.join(keys)}: the value {raw!r} is not valid YAML: {_yaml_problem(e)}") from e
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


