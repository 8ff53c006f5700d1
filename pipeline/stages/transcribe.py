"""Transcribe stage: faster-whisper with VAD, word timestamps, language detection and show vocabulary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline.config import ShowProfile, TranscribeOptions
from pipeline.errors import ModelUnavailableError
from pipeline.lib.models import ResolvedModel, resolve
from pipeline.records import Episode, Segment, Transcription, Word, full_text
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


def decode_kwargs(options: TranscribeOptions, profile: ShowProfile | None) -> dict[str, Any]:
    """faster-whisper keyword arguments from the options (one place, shared by both inference modes)."""
    hotwords, prompt = vocabulary_prompts(profile.vocabulary if profile else [], options.vocabulary_as)
    return dict(
        language=options.language or (profile.language if profile else None),
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


def _seconds(value: float) -> float:
    """Plain float (faster-whisper hands out numpy scalars), to the millisecond."""
    return round(float(value), 3)


class TranscribeStage(FileStage):
    name = "transcribe"
    version = "1"
    requires = (FILE,)
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
        # The profile matters only through what reaches the decoder: language and vocabulary.
        return decode_kwargs(self.options, job.profile) | {
            "decode": job.ingest,
            "model": self.options.model, "compute_type": self.options.compute_type,
            "batched": self.options.batched, "batch_size": self.options.batch_size if self.options.batched else None,
        }  # fmt: skip

    def applies_to(self, episode: Episode) -> bool:
        return episode.source.kind == "audio"

    def _load(self, job: Job):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        o = self.options
        path = self.resolved().path

        def load():
            try:
                model = WhisperModel(path, device=o.device, compute_type=o.compute_type, cpu_threads=o.cpu_threads)
            except (RuntimeError, ValueError, OSError) as e:
                raise ModelUnavailableError(f"cannot load Whisper model from {path}: {e}") from e
            return BatchedInferencePipeline(model=model) if o.batched else model

        return job.models.get(("whisper", path, o.device, o.compute_type, o.cpu_threads, o.batched), load)

    def run(self, episode: Episode, job: Job) -> None:
        audio = job.audio()
        episode.notes.extend(audio.notes)
        episode.duration = round(audio.duration, 3)
        model = self._load(job)
        kwargs = decode_kwargs(self.options, job.profile)
        if self.options.batched:
            kwargs["batch_size"] = self.options.batch_size
        started = time.perf_counter()
        segments_iter, info = model.transcribe(audio.samples, **kwargs)
        segments = list(self._collect(segments_iter, audio.duration, job))
        seconds = time.perf_counter() - started
        speech = info.duration_after_vad if self.options.vad_filter else info.duration
        if not segments:
            episode.notes.append("no speech detected: empty transcript")
        episode.segments = segments
        episode.text = full_text(segments)
        detected = self.options.language is None and (job.profile is None or job.profile.language is None)
        episode.transcription = Transcription(
            method="asr",
            language=info.language if segments or not detected else None,
            language_probability=round(float(info.language_probability), 4) if detected and segments else None,
            model=self.model_identity(),
            speech_duration=_seconds(speech),
            seconds=round(seconds, 3),
        )

    def _collect(self, segments_iter, duration: float, job: Job):
        """Iterate the decoder (work happens here) with a progress bar in audio seconds and RTF."""
        from tqdm import tqdm

        started = time.perf_counter()
        with tqdm(
            total=round(duration, 1), unit="s", desc=job.path.name, leave=False, disable=not job.show_progress
        ) as bar:
            for i, s in enumerate(segments_iter):
                bar.update(round(s.end, 1) - bar.n)
                bar.set_postfix(rtf=f"{(time.perf_counter() - started) / max(s.end, 1e-6):.3f}")
                words = [
                    Word(start=_seconds(w.start), end=_seconds(w.end), text=w.word, probability=round(float(w.probability), 4))
                    for w in (s.words or [])
                ]
                yield Segment(
                    id=i, start=_seconds(s.start), end=_seconds(s.end), text=s.text.strip(),
                    speaker=None, line=None, words=words,
                )  # fmt: skip
