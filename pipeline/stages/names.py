"""Names stage: audio speakers named from what is said (pipeline/lib/naming.py), after the turns are built.

A batch stage, because who a speaker may be is not only in its own episode: a guest of the programme named in a
text transcript of the same show in the batch (the station's page of another day) is a candidate too, beside
the show profile's hosts, the episode's notes, its credits and the full names its transcript introduces.
Voiceprints stay first: a speaker they name keeps that name, and speech that says otherwise is flagged.

What is said also shows where the diarization joined two similar voices (a guest and a host, two callers): a
voice that introduces itself as two people, or keeps answering when another person is introduced. Such a voice is
split by the voices of its stretches (CAM++, the diarizer's model) before names are given, and the turns are built
again from the words.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from pipeline.config import DiarizeOptions, ShowProfile, SpeakersOptions
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.audio import DecodedAudio
from pipeline.lib.diarization.diarizer import Diarizer, embedding_model_identity
from pipeline.lib.lexicon import names_in_text, readings_of
from pipeline.lib.naming import Verdict, candidates, decide, family_name, last_host, mentions, weigh
from pipeline.records import Episode, SpeakerSpan, Turn
from pipeline.stages.speakers import SpeakersStage
from pipeline.text.normalise import katakana
from pipeline.text.reader import Reader

Person = tuple[str, str, list[str]]  # (name, source, other written forms)


class NamesStage(BatchStage):
    name = "names"
    version = "2"
    requires = ("turns", "speakers", "context", "dedup", "source", "show", "segments", "diarization", "duration")
    produces = ("speakers", "turns", "segments", "diarization")
    cacheable = False  # cheap, and its inputs are other episodes' speakers too

    def __init__(self, options: SpeakersOptions, diarize: DiarizeOptions, credit_keys: dict[str, str]) -> None:
        self.options = options
        self.diarize = diarize  # the embedding model and its settings, to split a voice that is two people
        self.credit_keys = credit_keys  # the notes' line that lists the hosts (dedup.credit_keys: personalities)

    def options_key(self, job: Job) -> Any:
        return {"speakers": self.options, "diarize": self.diarize, "hosts": job.profile.hosts if job.profile else [],
                "credit_keys": self.credit_keys}

    def model_identity(self) -> str | None:
        return embedding_model_identity() if self.options.speech_names and self.options.split_joined_voices else None

    def applies_to(self, episode: Episode) -> bool:
        return self.options.speech_names  # text transcripts too: their named speakers are candidates for the audio

    def run_batch(self, items: list[tuple[Episode, Job]]) -> dict[str, Exception]:
        reader = items[0][1].models.get("sudachi", Reader)
        shows: dict[str | None, list[Person]] = {}  # people the batch's text transcripts name, per show profile
        for episode, _ in items:
            if episode.source.kind == "text":
                shows.setdefault(episode.show.profile, []).extend(
                    (s.name, "batch_text", [s.label] if s.label and s.label != s.name else [])
                    for s in episode.speakers if s.name and s.named_by in ("profile", "credits", "introduction"))  # fmt: skip
        failed: dict[str, Exception] = {}
        for episode, job in items:
            if episode.source.kind != "audio":
                continue
            try:
                batch = shows.get(episode.show.profile, []) if episode.show.profile else []
                self.name_from_speech(episode, job, reader, batch)
            except Exception as e:  # noqa: BLE001 - one episode's failure is that episode's error record
                failed[episode.episode_id] = e
        return failed

    def name_from_speech(self, episode: Episode, job: Job, reader: Reader, batch: list[Person]) -> None:
        """Speakers without a voiceprint named from the cues in the turns; a voice that the cues show to be two
        people is split in two first (`split_joined`); a voiceprint that speech contradicts is flagged, not
        overruled, and a name a voiceprint holds is not given to another speaker."""
        people = [*self.people(episode, reader, job.profile), *batch]
        verdicts = self.verdicts(episode, reader, people)
        if self.options.split_joined_voices and self.split_joined(episode, job, verdicts):
            verdicts = self.verdicts(episode, reader, people)
        self.apply(episode, verdicts, job.profile)

    def verdicts(self, episode: Episode, reader: Reader, people: list[Person]) -> dict[str, Verdict]:
        o = self.options
        known = candidates(people, lambda text: readings_of(text, reader), o.speech_min_reading_morae)

        def tokens(text: str) -> list[tuple[int, int, str]]:
            return [(a, b, katakana(m.reading_form())) for a, b, m in reader.tokenize(text)]

        found = mentions(episode.turns, known, tokens, tuple(o.honorifics), o.speech_near_min_morae,
                         o.speech_self_near_min_morae)
        return decide(weigh(episode.turns, found, tuple(o.honorifics)), o.speech_min_evidence, o.speech_margin)

    def split_joined(self, episode: Episode, job: Job, verdicts: dict[str, Verdict]) -> bool:
        """Give the second person in a joined voice a speaker of their own. Each stretch of that voice's diarized
        speech goes to whichever person it sounds nearer: the first stretch of the turns that show each person
        (`naming.joined`: a self-introduction, an answer to an introduction) is that person's voice (CAM++ over
        the whole stretch, steadier than the diarizer's 1.5 s windows). The turns are then built again from the
        words. Left as it is when a shown stretch sounds nearer the other person, or the second would hold less
        than diarize.min_speaker_s."""
        named = {s.id for s in episode.speakers if s.named_by == "voiceprint"}
        joined = {sid: v.joined for sid, v in verdicts.items() if v.joined and sid not in named}
        if not joined or not episode.diarization or episode.duration is None or episode.duration > job.ingest.window_s:
            return False  # a long recording is not held whole in memory for this
        diarizer = job.models.get(("diarizer", id(self.diarize)), lambda: Diarizer(self.diarize))
        audio = job.audio()
        turns = {t.id: t for t in episode.turns}
        split = False
        for sid, (first, second) in joined.items():
            spans = episode.diarization.spans
            own = [i for i, sp in enumerate(spans) if sp.speaker == sid]
            voices = {i: v for i in own if (v := voice_of(diarizer, audio, spans[i])) is not None}
            seeds = [[i for t in ids if t in turns and (i := first_span(spans, own, turns[t])) is not None]
                     for ids in (first, second)]  # fmt: skip
            seconds = {i: spans[i].end - spans[i].start for i in own}
            moved = split_parts(voices, seeds[0], seeds[1], seconds, self.diarize.min_speaker_s)
            if moved:
                new = next_speaker_id(episode)
                for i in moved:
                    spans[i].speaker = new
                episode.notes.append(f"names: {sid} is two people by what is said; {len(moved)} of its {len(own)} "
                                     f"stretches ({sum(seconds[i] for i in moved):.1f} s) are {new}")  # fmt: skip
                split = True
        if split:  # turns, segments and speakers built again from the words and the new spans
            SpeakersStage(self.options).run(episode, job)
            episode.diarization.speaker_count = len({s.speaker for s in episode.diarization.spans})
        return split

    def apply(self, episode: Episode, verdicts: dict[str, Verdict], profile: ShowProfile | None) -> None:
        hosts = self.hosts(episode, profile)
        held = {s.name: s for s in episode.speakers if s.name}
        for speaker in episode.speakers:
            verdict = verdicts.get(speaker.id)
            if verdict is None:
                continue
            speaker.cues = verdict.cues
            if verdict.absorbed:
                episode.notes.append(f"names: turns {', '.join(map(str, verdict.absorbed))} of {speaker.id} hold "
                                     f"another voice's words: they call the name {speaker.id} introduced itself by")  # fmt: skip
            if verdict.name is None or verdict.name == speaker.name:
                continue
            if speaker.name is not None:
                speaker.flag = f"speech names {verdict.name}, the {speaker.named_by} {speaker.name}"
            elif verdict.name in held:
                other = held[verdict.name]
                speaker.flag = f"speech names {verdict.name}, whom the {other.named_by} gives to {other.id}"
            else:
                speaker.name, speaker.named_by, speaker.confidence = verdict.name, "speech", verdict.confidence
                speaker.role = "host" if verdict.name in hosts else "guest"
        if self.options.name_last_host:
            names = {s.id: s.name for s in episode.speakers if s.name}
            found = last_host(episode.turns, verdicts, names, hosts)
            if found:
                speaker = next(s for s in episode.speakers if s.id == found[0])
                speaker.name, speaker.named_by, speaker.role = found[1], "elimination", "host"
                episode.notes.append(f"names: {speaker.id} is {speaker.name} by elimination: the other hosts listed "
                                     f"({'、'.join(h for h in hosts if h != speaker.name)}) are other voices, and "
                                     f"{speaker.id} is the one other voice that speaks in the opening and calls "
                                     "others by name")  # fmt: skip

    def hosts(self, episode: Episode, profile: ShowProfile | None) -> list[str]:
        """The show's hosts: the profile's, else the names on the notes' line of personalities (the keys
        dedup.credit_keys files under `personalities`: パーソナリティ：…、…)."""
        if profile and profile.hosts:
            return [h.name for h in profile.hosts]
        keys = [re.escape(k) for k, field in self.credit_keys.items() if field == "personalities"]
        if not episode.context or not keys:
            return []
        for line in episode.context.text.splitlines():
            m = re.match(rf"^\s*(?:{'|'.join(keys)})\s*[:：]\s*(.+)$", line)
            if m:
                return [name for n in re.split(r"[、,，・]", m.group(1)) if (name := re.sub(r"\s+", "", n))]
        return []

    def people(self, episode: Episode, reader: Reader, profile: ShowProfile | None) -> list[Person]:
        """Whom a speaker of this episode may be: hosts, the people the notes name, credits, and full names the
        transcript introduces (中村美咲さん) that the dictionary reads as a family and a given name."""
        people: list[Person] = [(h.name, "profile", list(h.aliases)) for h in profile.hosts] if profile else []
        if episode.context:  # the full name, the family name and the given name (沙耶です, 沙耶さん)
            for name, kind in names_in_text(episode.context.text, reader, False):
                family = family_name(name, reader)
                if kind == "person" or kind == "name" and family:
                    people.append((name, "context", [family, name[len(family):]] if family else []))
        credits = episode.dedup.credits if episode.dedup else None
        if credits is not None:
            people += [(n, "credits", []) for n in [*credits.personalities, *credits.credits]]
        pattern = re.compile(self.options.introduction_pattern)
        for turn in episode.turns:
            for m in pattern.finditer(turn.text):
                family = family_name(m.group(1), reader, whole=True)
                if family:
                    people.append((m.group(1), "introduction", [family, m.group(1)[len(family):]]))
        return people


def voice_of(diarizer: Diarizer, audio: DecodedAudio, span: SpeakerSpan) -> np.ndarray | None:
    """The CAM++ voice of one stretch of diarized speech (mean embedding), or None when it holds too little."""
    a, b = int(span.start * audio.sample_rate), int(span.end * audio.sample_rate)
    try:
        return diarizer.voiceprint(audio.samples[a:b], audio.sample_rate)
    except ValueError:
        return None


def first_span(spans: list[SpeakerSpan], own: list[int], turn: Turn) -> int | None:
    """The first of a voice's stretches (indexes into spans) that starts inside the turn: where the turn's
    speaker starts talking (a self-introduction, an answer), before anyone the stretch may run on into."""
    if turn.start is None or turn.end is None:
        return None
    inside = [i for i in own if turn.start - 0.5 <= spans[i].start < turn.end]
    return min(inside, key=lambda i: spans[i].start, default=None)


def split_parts(voices: dict[int, np.ndarray], first: list[int], second: list[int], seconds: dict[int, float],
                min_speech_s: float) -> set[int]:  # fmt: skip
    """Keys that go to the second person: those whose voice is nearer the second person's seeds than the first's.
    Nothing moves unless every seed is nearer its own person's voice (leave-one-out), the seeds do not overlap
    and the second person holds at least min_speech_s."""
    seeds = [[k for k in ids if k in voices] for ids in (first, second)]
    if not seeds[0] or not seeds[1] or set(seeds[0]) & set(seeds[1]):
        return set()

    def centre(keys: list[int]) -> np.ndarray:
        v = np.sum([voices[k] for k in keys], axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-9)

    for mine, other in ((0, 1), (1, 0)):
        for k in seeds[mine]:
            rest = [s for s in seeds[mine] if s != k]
            if rest and voices[k] @ centre(rest) <= voices[k] @ centre(seeds[other]):
                return set()  # a seed sounds like the other person: the cues do not match the voices
    a, b = centre(seeds[0]), centre(seeds[1])
    moved = {k for k, v in voices.items() if v @ b > v @ a} | set(seeds[1])
    return moved if sum(seconds[k] for k in moved) >= min_speech_s and len(moved) < len(seconds) else set()


def next_speaker_id(episode: Episode) -> str:
    used = {s.id for s in episode.speakers} | ({s.speaker for s in episode.diarization.spans} if episode.diarization else set())
    return next(f"SPEAKER_{n:02d}" for n in range(len(used) + 1) if f"SPEAKER_{n:02d}" not in used)
