"""The episode record: what flows through the stages and is written as one line of episodes.jsonl.

The JSON Schema in schema/episode.schema.json is generated from these classes (`pipeline schema`), so a field
documented here is documented there.
"""

from __future__ import annotations

from typing import Literal

from pipeline.records.base import Record, doc

SCHEMA_VERSION = "1.7"  # 1.1: episode ids are paths relative to the input folder, suffix kept; 1.2: context,
# corrections and recoveries; 1.3: a correction's `after` (the prefecture a municipality was read after); 1.4:
# speakers named by speech (named_by "speech", cues, confidence, flag); 1.5: the last listed host named by elimination
# (named_by "elimination"); 1.6: a DupRef's air_date and earlier_run (kept copies in earlier runs, dedup.archive);
# 1.7: alerts (watchlist mentions)

FigureKind = Literal["money", "count", "percent", "ratio", "quantity", "duration", "date", "time"]
Qualifier = Literal["at_least", "more_than", "approx", "at_most", "less_than"]


class Figure(Record):
    """One figure found in a text: a number with its unit, a date or a time, normalised."""

    text: str = doc("the figure as written, with its qualifier words (e.g. 少なくとも318件, 2兆円を超える)")
    start: int = doc("character offset of `text` in the input string")
    end: int = doc("character offset just after `text` in the input string")
    kind: FigureKind = doc("what is measured: money, count, percent, ratio, quantity, duration, date or time")
    value: float | None = doc("the number as said, in base units (二兆円 → 2e12, 10割 → 100); lower end of a range; "
                              "a duration of several units in its last unit (1時間30分 → 90); null for dates and "
                              "times and for a duration without an exact common unit (1年2か月10日)")
    value_max: float | None = doc("upper end of a range (10〜20% → 20, 十数件 → 19); null when not a range")
    unit: str | None = doc("JPY/USD/... for money, % for percent and 割, JPY/USD for an exchange rate, "
                           "the counter for counts (件, 人, 品目, 自治体), 年/か月/日/... for durations; "
                           "null for dates and times and where value is null")
    qualifier: Qualifier | None = doc("at_least, more_than, approx, at_most or less_than, from words like "
                                      "少なくとも, を超える, 約, 以下, 未満; null when the figure is exact")
    basis: str | None = doc("what a change is measured against (前年同月比, 前年比, ...); null if none is said")
    iso: str | None = doc("dates, times and durations in ISO 8601 at the precision said (2023-06-17, 2023-08, "
                          "2024-09/2024-11, 06:00/09:00, 23:59:59, P3M); periods of business news and centuries "
                          "as intervals (2024年4〜6月期 → 2024-04/2024-06, 2024年度上期 → 2024-04/2024-09, "
                          "21世紀 → 2001/2100, 紀元前202年 → -0201); a year not known as ISO 8601-2 XXXX "
                          "(XXXX-06-17, XXXX-XX-18); null for other kinds or when unresolvable (第1四半期 without "
                          "the year it counts in)")
    counted: str | None = doc("the noun the figure counts or measures when a simple rule finds it "
                              "(318件 → 自主返納, 123の自治体 → 自治体); null when unsure")


class Word(Record):
    """One recognised word (Japanese: about one character) with its timing."""

    start: float = doc("seconds from the start of the file")
    end: float = doc("seconds from the start of the file")
    text: str = doc("the word as decoded, leading space kept")
    probability: float = doc("decoder probability of the word")


class Segment(Record):
    """A stretch of transcript: an ASR segment, a subtitle cue, or one line of a text transcript."""

    id: int = doc("0-based position in the episode")
    start: float | None = doc("seconds; null for text transcripts without timing")
    end: float | None = doc("seconds; null for text transcripts without timing")
    text: str = doc("text without speaker prefix")
    speaker: str | None = doc("speaker label from the source (text prefix or cue voice), if any")
    line: int | None = doc("1-based line of the source text file, for text transcripts")
    words: list[Word] = doc("word timings (empty for text input or when output.include_words is off)")


class Source(Record):
    """The input file."""

    path: str = doc("path as given to the runner")
    name: str = doc("file name")
    sha256: str = doc("content hash of the file")
    size_bytes: int = doc("file size")
    kind: Literal["audio", "text"] = doc("how the file is read")
    format: str = doc("container or text format (e.g. ogg, mp3, mov,mp4,m4a, txt, srt, vtt)")
    codec: str | None = doc("audio codec of the decoded stream")
    sample_rate: int | None = doc("original sample rate of the audio stream")
    channels: int | None = doc("original channel count")


class Show(Record):
    """Programme metadata from the show profile, the file name or the text itself."""

    profile: str | None = doc("key of the matched show profile (configs/shows/<key>.yaml)")
    name: str | None = doc("programme name")
    station: str | None = doc("broadcaster")
    air_date: str | None = doc("ISO date the episode aired")
    air_date_from: Literal["filename", "text"] | None = doc("where air_date was found")


class Recovery(Record):
    """A stretch of audio decoded a second time, sequentially with temperature fallback: speech that diarization
    found but the first decoding left without words, a segment that copies earlier text, or one decoded with low
    confidence (or looping)."""

    start: float = doc("seconds")
    end: float = doc("seconds")
    reason: Literal["no_words", "copy", "low_confidence", "loop"] = doc(
        "no_words: diarized speech with no words; copy: the words repeat an earlier segment; low_confidence: "
        "average log-probability or speaking rate says the decoding went wrong; loop: the text compresses like a "
        "repetition loop"
    )
    before: str = doc("the text there before ('' for no words)")
    after: str = doc("the text of the second decoding")
    kept: bool = doc("true when the second decoding replaced (or filled) the first")


class Correction(Record):
    """A name or term in the ASR text replaced by a lexicon entry that sounds the same (or nearly)."""

    segment: int = doc("Segment.id")
    span: list[int] = doc("[start, end) character offsets of the corrected text in the segment's text")
    time: list[float] | None = doc("[start, end] seconds of the words corrected")
    original: str = doc("the text as recognised")
    corrected: str = doc("the lexicon's written form put in its place")
    reading: str = doc("katakana reading of the original")
    term_reading: str = doc("katakana reading of the lexicon entry")
    source: Literal["profile", "gazetteer", "context", "batch_text", "national"] = doc(
        "where the entry comes from: the show profile, a gazetteer, the episode's .notes.txt, a text transcript "
        "of the same batch, or the national name list (configs/lexicon)"
    )
    kind: str = doc("what the entry names (person, municipality, company, government, term, ...)")
    distance: int = doc("morae that differ between the two readings (0 = same reading)")
    score: float = doc("0-1 strength of the evidence (reading similarity, weighed by the entry's source)")
    after: str | None = doc("the name just before it that the correction rests on: the prefecture a municipality "
                            "was named after (石川県 for 和島市 -> 輪島市); null when the reading alone decided", default=None)


class EpisodeContext(Record):
    """Text about the episode from a file beside it, <stem>.notes.txt (the programme's web page, show notes)."""

    path: str = doc("path of the notes file")
    sha256: str = doc("hash of its bytes")
    text: str = doc("its text (at most the first 20,000 characters)")
    terms: list[str] = doc("names and terms read from it: they feed the decoder's prompt and the correction lexicon")


class Transcription(Record):
    """How the transcript was obtained."""

    method: Literal["asr", "text"] = doc("asr: recognised from audio; text: read from a transcript file")
    language: str | None = doc("ISO code, detected or configured")
    language_probability: float | None = doc("detection confidence; null when configured or for text")
    model: str | None = doc("model identity used for ASR")
    speech_duration: float | None = doc("seconds of speech kept by VAD")
    seconds: float | None = doc("wall time of recognition")
    prompt: str | None = doc("the initial prompt given to the decoder (show vocabulary and context terms), if any")
    recoveries: list[Recovery] = doc("stretches decoded a second time, and why")
    corrections: list[Correction] = doc("names and terms corrected by reading; the original text is in each")


class StageRun(Record):
    """One stage's run for this episode."""

    stage: str = doc("stage name")
    version: str = doc("stage code version (part of the cache key)")
    config_hash: str = doc("hash of the stage's options")
    cache_key: str = doc("key of the stage result in the cache")
    cached: bool = doc("true when the result came from the cache")
    seconds: float = doc("wall time of the stage in this run (0 when cached)")


class Provenance(Record):
    """What produced this record."""

    pipeline_version: str = doc("package version")
    config_hash: str = doc("hash of the configuration, the runner section (executor, workers) left out")
    models: dict[str, str] = doc("stage -> model identity")
    stages: list[StageRun] = doc("stages run, in order")


class ErrorInfo(Record):
    """Why an input could not be processed."""

    stage: str = doc("stage that failed")
    type: str = doc("error class")
    message: str = doc("what went wrong, for a person")


class DupRef(Record):
    """Where the kept copy of a removed passage is."""

    episode_id: str = doc("episode holding the kept copy (this one, an earlier airing in the batch, or one of an "
                          "earlier run found in the dedup archive)")  # fmt: skip
    segment: int = doc("id of the segment where the kept copy starts")
    span: list[int] = doc("[start, end) character offsets in that episode's pre-dedup text")
    time: list[float] | None = doc("[start, end] seconds of the kept copy, for audio")
    air_date: str | None = doc("ISO date that episode aired, when known", default=None)
    earlier_run: bool = doc("true when that episode is not in this batch but an earlier run's (dedup.archive): its "
                            "record is in that run's output", default=False)  # fmt: skip


class Removal(Record):
    """One piece of text the dedup stage took out of the transcript."""

    kind: Literal["loop", "repeat", "boilerplate", "cross_episode"] = doc(
        "loop: ASR repetition loop; repeat: passage repeated in this transcript; boilerplate: page or broadcast "
        "furniture; cross_episode: repeats a passage of another episode that aired earlier, in the batch or in an "
        "earlier run (dedup.archive)"
    )
    reason: str = doc("why, for a person")
    text: str = doc("the removed text")
    segment: int = doc("id of the segment it was removed from")
    span: list[int] = doc("[start, end) character offsets in this episode's pre-dedup text")
    time: list[float] | None = doc("[start, end] seconds, for audio")
    dup_of: DupRef | None = doc("the kept copy, when the removed text duplicates one")
    similarity: float | None = doc("0-1 similarity to the kept copy (1 = same after normalising)")


class ProgrammeCredits(Record):
    """Programme facts read from boilerplate before it was removed (page footers, credit lines)."""

    show_name: str | None = doc("番組名")
    air_time: str | None = doc("放送日時, as printed")
    personalities: list[str] = doc("パーソナリティ")
    website: str | None = doc("番組Webサイト")
    listen_until: str | None = doc("聴取期限 (catch-up availability), as printed")
    credits: list[str] = doc("names on the page's credits line")


class DedupReport(Record):
    """What deduplication removed, and why; nothing is removed without an entry here."""

    original_chars: int = doc("characters of segment text before dedup")
    kept_chars: int = doc("characters of segment text after dedup")
    removed_chars: dict[str, int] = doc("removed characters by kind")
    removed_share: float = doc("removed / original characters")
    duplicate_share: float = doc("characters removed as copies of other text (dup_of set) / original characters")
    removals: list[Removal] = doc("every removal, in transcript order")
    credits: ProgrammeCredits = doc("programme facts kept from removed boilerplate")


class SpeakerSpan(Record):
    """A stretch of audio the diarizer gave to one speaker."""

    start: float = doc("seconds")
    end: float = doc("seconds")
    speaker: str = doc("anonymous speaker id, SPEAKER_00, SPEAKER_01, ... by first appearance")


class VoiceMatch(Record):
    """A diarized speaker recognised as an enrolled voice (a host's voiceprint from the show profile)."""

    speaker: str = doc("anonymous speaker id")
    name: str = doc("enrolled name")
    similarity: float = doc("cosine similarity of the speaker's voice to the voiceprint")


class Diarization(Record):
    """Who spoke when, from the audio alone (before names and before dedup)."""

    spans: list[SpeakerSpan] = doc("speaker spans in time order")
    speaker_count: int = doc("number of speakers found")
    voice_matches: list[VoiceMatch] = doc("speakers recognised by voiceprint")
    seconds: float = doc("wall time of diarization")


class SpeakerCue(Record):
    """Something said that names a speaker: a self-introduction, an introduction or an address."""

    kind: Literal["self_introduction", "introduction", "address"] = doc(
        "self_introduction: the speaker says the name as their own (山田です); introduction: another speaker "
        "introduces the name with an honorific, then this speaker talks (中村さんにお越しいただきました); address: "
        "another speaker addresses the name (中村さん、…), then this speaker answers"
    )
    name: str = doc("the candidate name the cue points at (canonical spelling)")
    turn: int = doc("Turn.id of the turn that says it")
    said_by: str = doc("Speaker.id of who said it")
    phrase: str = doc("the words around the name, as recognised")


class Speaker(Record):
    """One speaker of the episode, named where the show profile, the page, a voiceprint or what is said says who
    it is."""

    id: str = doc("stable id within the episode: SPEAKER_00.. for audio, the source label for text, or 'narration'")
    label: str | None = doc("the label in the source (a `名前:` prefix or a subtitle voice), if any")
    name: str | None = doc("full name, when known")
    named_by: Literal["voiceprint", "speech", "elimination", "profile", "credits", "introduction", "label"] | None = doc(
        "how the name was found: an enrolled voiceprint, what is said in the audio (cues), elimination (the one "
        "host the profile or the notes list that no other voice is, given to the one unnamed voice that speaks as a "
        "host), the show profile's hosts, the page's credits, an introduction in the text (〜さん), or the label"
    )
    role: Literal["host", "guest", "narration"] | None = doc("host: listed in the show profile")
    talk_time: float | None = doc("seconds of speech (audio only)")
    chars: int = doc("characters of transcript")
    turn_count: int = doc("number of turns")
    cues: list[SpeakerCue] = doc("what is said about this speaker's name (audio; speakers.speech_names)",
                                 default_factory=list)  # fmt: skip
    confidence: float | None = doc("share of the cues' weight that supports the name, when named by speech",
                                   default=None)  # fmt: skip
    flag: str | None = doc("a doubt about the name: speech names another person than the voiceprint does",
                           default=None)  # fmt: skip


class Turn(Record):
    """Consecutive speech by one speaker: the unit of search records."""

    id: int = doc("0-based position in the episode")
    speaker: str = doc("Speaker.id")
    start: float | None = doc("seconds (audio and subtitles)")
    end: float | None = doc("seconds (audio and subtitles)")
    text: str = doc("what was said")
    section: str | None = doc("the page's section heading (◆...) above this turn, for text transcripts")
    segments: list[int] = doc("ids of the segments the turn draws on")
    words: list[Word] = doc("word timings (audio; empty when output.include_words is off)")


class FigureMention(Record):
    """A figure said in a turn: who said it, when, in which sentence (offsets in `figure` are in the turn text)."""

    turn: int = doc("Turn.id")
    speaker: str = doc("Speaker.id of the turn")
    time: list[float] | None = doc("[start, end] seconds of the words that say it (audio); the turn's times for subtitles")
    sentence: str = doc("the sentence the figure comes from")
    figure: Figure = doc("the figure, normalised")


class EntityMention(Record):
    """One place a named entity is said: who, when, and where in the turn text."""

    turn: int = doc("Turn.id")
    speaker: str = doc("Speaker.id of the turn")
    time: list[float] | None = doc("[start, end] seconds of the words that say it (audio); the turn's times for subtitles")
    span: list[int] = doc("[start, end) character offsets in the turn text")
    text: str = doc("the surface as written or recognised")
    label: str = doc("fine label as found (GiNZA's Extended Named Entity label, or the gazetteer's)")
    source: Literal["gazetteer", "text", "ner", "propagated", "pattern"] = doc(
        "gazetteer: configs or show profile; text: a name the transcript reveals (speaker label, credits, "
        "〜さん); ner: GiNZA's statistical NER; propagated: another occurrence of a surface labelled elsewhere in "
        "the episode; pattern: a hashtag"
    )


class Entity(Record):
    """A person, organisation, place, product, event, work or hashtag, with every mention in the episode."""

    id: str = doc("E0, E1, ... in order of first mention")
    name: str = doc("canonical name: the gazetteer's name or a person's full name when known (吉田 → 吉田明世)")
    type: str = doc("coarse type: PERSON, ORG, LOCATION, PRODUCT, EVENT, WORK, HASHTAG or OTHER")
    label: str = doc("fine label most mentions carry (GiNZA's Extended Named Entity label)")
    aliases: list[str] = doc("other surfaces the entity is mentioned by")
    mentions: list[EntityMention] = doc("every mention, in transcript order")


class SummarySentence(Record):
    """A sentence of the deduplicated transcript chosen for the summary, with where it was said."""

    text: str = doc("the sentence as it stands in the turn")
    turn: int = doc("Turn.id it comes from")
    speaker: str = doc("Speaker.id of that turn")
    start: float | None = doc("seconds where the sentence starts (audio); null for text")
    span: list[int] = doc("[start, end) character offsets in the turn text")
    score: float = doc("centrality (TextRank) of the sentence in the episode")


class Keyword(Record):
    """A word or entity name that characterises the episode against the rest of the batch."""

    text: str = doc("the word (normalised form) or the entity's canonical name")
    score: float = doc("tf x idf, the idf over the episodes of the batch")
    count: int = doc("occurrences in the episode")


class SpeakerLine(Record):
    """What one speaker mainly said."""

    speaker: str = doc("Speaker.id")
    name: str | None = doc("the speaker's name when known")
    sentence: SummarySentence = doc("the speaker's most central sentence")
    keywords: list[str] = doc("the speaker's top keywords")


class Summary(Record):
    """Extractive summary: every sentence is quoted from the deduplicated turns and cites its turn."""

    headline: SummarySentence | None = doc("the most central sentence; null when the transcript has none")
    key_sentences: list[SummarySentence] = doc("central sentences chosen for coverage, in transcript order")
    keywords: list[Keyword] = doc("keywords by score")
    speakers: list[SpeakerLine] = doc("one line per speaker, the most talkative first")


MatchKind = Literal["exact", "alias", "entity", "reading"]


class Airing(Record):
    """Another airing of the passage an alert comes from (a rerun or a repeated ad that dedup took out there)."""

    episode_id: str = doc("the episode that aired the passage again")
    show: str | None = doc("its programme name")
    air_date: str | None = doc("its ISO air date")
    time: list[float] | None = doc("[start, end] seconds of the repeated passage there (audio)")


class Alert(Record):
    """One mention of a watched term (configs/watchlists): who said it, when, in which sentence, and how it was
    matched. A passage aired again (a rerun, a repeated ad) gives one alert, at its first airing."""

    id: str = doc("stable id: <episode_id>#alert<n>, n counting the episode's alerts from 0 in transcript order")
    watchlist: str = doc("the watchlist's name (its file name without .yaml)")
    term: str = doc("the watched term's canonical name")
    type: str = doc("the term's type (PERSON, ORG, LOCATION, PRODUCT, EVENT, WORK, OTHER)")
    match: MatchKind = doc(
        "exact: the name as written; alias: one of its aliases as written; entity: an entity mention the entities "
        "stage resolved to the name (塚越 for 塚越健司); reading: what ASR wrote sounds like the name (藤ツ for 富士通), "
        "corrected by the correct stage or matched here"
    )
    score: float = doc("1 for exact, alias and entity; for reading, how close the readings are (1 = the same)")
    text: str = doc("the mention in the turn text")
    asr_text: str | None = doc("for reading: how ASR wrote it (before any correction); null otherwise")
    reading: str | None = doc("for reading: katakana reading of what ASR wrote; null otherwise")
    episode_id: str = doc("the episode")
    show: str | None = doc("programme name")
    station: str | None = doc("broadcaster")
    air_date: str | None = doc("ISO date the episode aired")
    source: str = doc("input file name")
    speaker: str | None = doc("Speaker.id of the turn (null for a rerun of an earlier run: no turn here)")
    speaker_name: str | None = doc("the speaker's name when known")
    turn: int | None = doc("Turn.id (null for a rerun of an earlier run, see rerun_of)")
    span: list[int] | None = doc("[start, end) character offsets of `text` in the turn text")
    start: float | None = doc("seconds where the mention is said (audio); the turn's start for subtitles")
    end: float | None = doc("seconds where the mention ends (audio)")
    sentence: str = doc("the sentence the mention is in")
    context: str = doc("the sentence with alerts.context_chars of the turn on each side")
    figures: list[Figure] = doc("figures said in that sentence (offsets in the turn text)")
    airings: list[Airing] = doc("later airings of the same passage, found by dedup: reruns and ads in other episodes "
                                "of the batch, or again in this one (a text transcript: a copy of the passage on "
                                "the page)")  # fmt: skip
    rerun_of: DupRef | None = doc("when this passage first aired in an earlier run (dedup.archive): that airing, "
                                  "whose own alert is in that run's alerts.jsonl")  # fmt: skip
    clip: str | None = doc("the audio clip of the mention, relative to the output folder (alerts.clips); null when "
                           "none was cut")  # fmt: skip


class Episode(Record):
    """One input file's record: the unit that flows through the stages and is written as one JSONL line."""

    schema_version: str = doc("version of this record layout")
    episode_id: str = doc(
        "unique within a run and stable across runs: the file's path relative to the input folder it was found in, "
        "suffix kept (showA/2024-03-13.txt); parent folders are added where two inputs would share an id"
    )
    status: Literal["ok", "error"] = doc("error: see `error`; the other fields may be partial")
    source: Source = doc("the input file")
    show: Show = doc("programme metadata")
    context: EpisodeContext | None = doc("the episode's notes file (<stem>.notes.txt beside it), when there is one")
    transcription: Transcription | None = doc("how the text was obtained")
    duration: float | None = doc("seconds of decoded audio, or null for text")
    text: str = doc("full transcript after deduplication, one segment per line")
    segments: list[Segment] = doc("transcript segments in order, after deduplication (ids keep their pre-dedup value)")
    summary: Summary | None = doc("extractive summary (null when off or the episode failed)")
    dedup: DedupReport | None = doc("what deduplication removed (null when it did not run)")
    diarization: Diarization | None = doc("speaker spans from the audio (null for text or when off)")
    speakers: list[Speaker] = doc("speakers in order of first turn")
    turns: list[Turn] = doc("speaker turns of the deduplicated transcript")
    entities: list[Entity] = doc("named entities of the turns, each with its mentions")
    figures: list[FigureMention] = doc("numbers, money, percentages, dates and times said in the turns")
    alerts: list[Alert] = doc("mentions of watched terms (configs/watchlists), in transcript order",
                              default_factory=list)  # records of 1.6 and before have none  # fmt: skip
    notes: list[str] = doc("quality notes (e.g. no speech found, truncated file)")
    error: ErrorInfo | None = doc("set when status is error")
    provenance: Provenance = doc("versions, config and model identities")


def full_text(segments: list[Segment]) -> str:
    return "\n".join(s.text for s in segments)
