"""Transcribe stage: faster-whisper with VAD, word timestamps, language detection and show vocabulary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.config import ShowProfile, TranscribeOptions
from pipeline.errors import ModelUnavailableError
from pipeline.lib.asr import bound_segments, compression_ratio
from pipeline.lib.models import ResolvedModel, resolve
from pipeline.records import Episode, EpisodeContext, Recovery, Segment, Transcription, Word, full_text
from pipeline.text.normalise import letters_digits
from pipeline.engine.stage import FILE, FileStage, Job


def vocabulary_prompts(vocabulary: list[str], mode: str) -> tuple[str | None, str | None]:
    """(hotwords, initial_prompt) for the decoder from a show's vocabulary."""
    if not vocabulary or mode == "none":
        return None, None
    hotwords = " ".join(vocabulary) if mode in ("hotwords", "both") else None
    # A list of words, space-separated as hotwords are, not a sentence. With batched decoding on the
    # 6-minute benchmark show, 、-joined words ending in 。 ended chunks early (CER 17.8%), and ending in 、
    # gave 20.0%. Space-separated gave 13.3%, and on the bundled sample 8.1% with あさラジ spelled right
    # (、 without an ending wrote 朝ラジ).
    prompt = " ".join(vocabulary) if mode in ("initial_prompt", "both") else None
    return hotwords, prompt


def prompt_words(options: TranscribeOptions, profile: ShowProfile | None, context: EpisodeContext | None) -> list[str]:
    """The show's vocabulary, then the names and terms of the episode's notes, up to options.prompt_max_chars
    (Whisper reads at most 223 prompt tokens; a Japanese character is one or two)."""
    words = list(profile.vocabulary) if profile else []
    if context is not None and options.context_in_prompt:
        words += [t for t in context.terms if t not in words]
    kept, size = [], 0
    for word in words:
        if size + len(word) + 1 > options.prompt_max_chars:
            break
        kept.append(word)
        size += len(word) + 1
    return kept


def language_of(options: TranscribeOptions, profile: ShowProfile | None) -> str | None:
    """The configured language, else the show's, else None (detect)."""
    return options.language or (profile.language if profile else None)


def decode_kwargs(options: TranscribeOptions, profile: ShowProfile | None,
                  context: EpisodeContext | None = None) -> dict[str, Any]:  # fmt: skip
    """faster-whisper keyword arguments from the options (one place, shared by both inference modes)."""
    hotwords, prompt = vocabulary_prompts(prompt_words(options, profile, context), options.vocabulary_as)
    return dict(
        language=language_of(options, profile),
        task=options.task,
        beam_size=options.beam_size,
        vad_filter=options.vad_filter,
        vad_parameters={"min_silence_duration_ms": options.vad_min_silence_ms},
        word_timestamps=options.word_timestamps,
        condition_on_previous_text=options.condition_on_previous_text,
        repetition_penalty=options.repetition_penalty,
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        compression_ratio_threshold=options.compression_ratio_threshold,
        log_prob_threshold=options.log_prob_threshold,
        no_speech_threshold=options.no_speech_threshold,
        temperature=list(options.temperature),
        hotwords=hotwords,
        initial_prompt=prompt,
    )


def sequential_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same decoding, sequential and with temperature fallback, for a stretch cut out already (no VAD)."""
    return {k: v for k, v in kwargs.items() if k != "batch_size"} | {"vad_filter": False}


def mean_logprob(segments) -> float:
    """Average log-probability of decoded segments, weighted by their length in characters."""
    sizes = [max(1, len(x.text.strip())) for x in segments]
    return sum(x.avg_logprob * n for x, n in zip(segments, sizes)) / sum(sizes) if segments else float("-inf")


def load_whisper(job: Job, options: TranscribeOptions, path: str):
    """The process's WhisperModel for these options, loaded once and shared by the stages that decode."""
    from faster_whisper import WhisperModel

    def load():
        try:
            return WhisperModel(path, device=options.device, compute_type=options.compute_type,
                                cpu_threads=options.cpu_threads)  # fmt: skip
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelUnavailableError(f"cannot load Whisper model from {path}: {e}") from e

    return job.models.get(("whisper", path, options.device, options.compute_type, options.cpu_threads), load)


def _seconds(value: float) -> float:
    """Plain float (faster-whisper hands out numpy scalars), to the millisecond."""
    return round(float(value), 3)


class TranscribeStage(FileStage):
    name = "transcribe"
    version = "3"  # 2: windows for long audio; Whisper's silence rule applied to batched segments; 3: notes in the
    # prompt, low-confidence segments re-decoded, each re-decode recorded
    requires = (FILE, "context")
    produces = ("segments", "text", "transcription", "duration")

    def __init__(self, options: TranscribeOptions, model_cache_dir: Path) -> None:
        self.options = options
        self.model_cache_dir = model_cache_dir
        self._resolved: ResolvedModel | None = None

    def resolved(self) -> ResolvedModel:
        """Resolve (and for the bundled base, assemble) the model on first use."""
        if self._resolved is None:
            self._resolved = resolve(self.options.model, self.model_cache_dir)
        return self._resolved

    def model_identity(self) -> str:
        return self.resolved().identity

    def options_key(self, job: Job) -> Any:
        # The profile and the notes matter only through what reaches the decoder (language, vocabulary, terms),
        # which the context field's content key covers as well.
        return {"options": self.options, "decode": job.ingest, "language": language_of(self.options, job.profile),
                "vocabulary": job.profile.vocabulary if job.profile else []}

    def applies_to(self, episode: Episode) -> bool:
        return episode.source.kind == "audio"

    def run(self, episode: Episode, job: Job) -> None:
        windows = job.windows()
        model = self._load(job)
        whisper = model.model if self.options.batched else model  # for sequential re-decoding
        kwargs = decode_kwargs(self.options, job.profile, episode.context)
        if self.options.batched:
            kwargs["batch_size"] = self.options.batch_size
        detected = kwargs["language"] is None
        started = time.perf_counter()
        segments: list[Segment] = []
        recoveries: list[Recovery] = []
        dropped: list[str] = []
        speech, info = 0.0, None
        job.progress.measure(windows.declared, "s")  # the declared duration: long files are read as decoded
        for offset, samples in windows:
            segments_iter, info = model.transcribe(samples, **kwargs)
            if detected and kwargs["language"] is None and info.language_probability > 0:
                kwargs["language"] = info.language  # later windows of a long file keep the first one's language
            for s in segments_iter:
                job.progress.advance(offset + s.end)
                if self.non_speech(s):
                    dropped.append(s.text.strip())
                    continue
                found = [self._segment(len(segments), s, offset)]
                if reason := self._doubtful(s):
                    piece = samples[int(s.start * job.ingest.sample_rate) : int(s.end * job.ingest.sample_rate)]
                    found = self._redecode(whisper, piece, s, offset, kwargs, found, reason, recoveries)
                segments.extend(found)
            speech += info.duration_after_vad if self.options.vad_filter else info.duration
        seconds = time.perf_counter() - started
        episode.notes.extend(windows.notes)
        episode.duration = round(windows.duration or 0.0, 3)
        if dropped:
            episode.notes.append(
                f"dropped {len(dropped)} segment(s) that Whisper's own silence rule calls non-speech (no-speech "
                f"probability above {self.options.no_speech_threshold}, average log-probability below "
                f"{self.options.log_prob_threshold}): {' / '.join(dropped)[:200]}"
            )
        if not segments:
            episode.notes.append("no speech detected: empty transcript")
        segments = bound_segments(segments, self.options.max_segment_s)
        episode.segments = segments
        episode.text = full_text(segments)
        episode.transcription = Transcription(
            method="asr",
            language=kwargs["language"] if segments or not detected else None,
            language_probability=round(float(info.language_probability), 4) if info and detected and segments else None,
            model=self.model_identity(),
            speech_duration=_seconds(speech),
            seconds=round(seconds, 3),
            prompt=kwargs["initial_prompt"],
            recoveries=recoveries,
            corrections=[],
        )

    def _load(self, job: Job):
        whisper = load_whisper(job, self.options, self.resolved().path)
        if not self.options.batched:
            return whisper
        from faster_whisper import BatchedInferencePipeline

        return BatchedInferencePipeline(model=whisper)  # a thin wrapper: the model itself is loaded once

    def non_speech(self, s) -> bool:
        """Whisper's silence rule: a segment the model itself thinks is no speech, decoded with low confidence
        (tone or noise that passed VAD comes out as "you." at no-speech 0.8, log-prob -2.0). Sequential decoding
        applies the rule per window; batched decoding does not, so it is applied here to every segment."""
        o = self.options
        return s.no_speech_prob > o.no_speech_threshold and s.avg_logprob < o.log_prob_threshold

    def _doubtful(self, s) -> str | None:
        """Why a batched segment should be decoded again (batched decoding has no temperature fallback): it
        compresses like a repetition loop, or its average log-probability is low."""
        o = self.options
        if not o.batched:
            return None
        if o.redecode_loops and s.compression_ratio > o.compression_ratio_threshold:
            return "loop"
        if o.redecode_below_logprob is not None and s.avg_logprob < o.redecode_below_logprob:
            return "low_confidence"
        seconds = s.end - s.start
        if seconds >= o.redecode_min_s and len(letters_digits(s.text)) / seconds < o.redecode_min_chars_per_s:
            return "low_confidence"  # far fewer characters than the speech holds: the decoder skipped some of it
        return None

    def _redecode(self, whisper, piece, s, offset: float, kwargs: dict[str, Any], found: list[Segment], reason: str,
                  recoveries: list[Recovery]) -> list[Segment]:  # fmt: skip
        """The segment's audio decoded again sequentially, with temperature fallback; kept if it loops less (a
        loop) or is decoded with more confidence (low confidence)."""
        again = list(whisper.transcribe(piece, **sequential_kwargs(kwargs))[0])
        if reason == "loop":
            before, after = s.compression_ratio, compression_ratio(" ".join(r.text for r in again))
            keep = bool(again) and after < before
        else:  # kept when it finds more of the speech without looping, or the same with more confidence
            text = " ".join(r.text for r in again)
            more = len(letters_digits(text)) > len(letters_digits(s.text))
            keep = bool(again) and compression_ratio(text) <= self.options.compression_ratio_threshold and (
                more or mean_logprob(again) > s.avg_logprob)
        new = [self._segment(0, r, offset + s.start) for r in again]
        recoveries.append(Recovery(
            start=_seconds(offset + s.start), end=_seconds(offset + s.end), reason=reason, before=s.text.strip(),
            after=" ".join(x.text for x in new), kept=keep,
        ))  # fmt: skip
        return [x.model_copy(update={"id": found[0].id + i}) for i, x in enumerate(new)] if keep else found

    @staticmethod
    def _segment(index: int, s, offset: float) -> Segment:
        words = [
            Word(start=_seconds(offset + w.start), end=_seconds(offset + w.end), text=w.word,
                 probability=round(float(w.probability), 4))
            for w in (s.words or [])
        ]  # fmt: skip
        return Segment(
            id=index, start=_seconds(offset + s.start), end=_seconds(offset + s.end), text=s.text.strip(),
            speaker=None, line=None, words=words,
        )  # fmt: skip

