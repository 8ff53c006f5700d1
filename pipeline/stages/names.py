"""Names stage: audio speakers named from what is said (pipeline/lib/naming.py), after the turns are built.

A batch stage, because who a speaker may be is not only in its own episode: a guest of the programme named in a
text transcript of the same show in the batch (the station's page of another day) is a candidate too, beside
the show profile's hosts, the episode's notes, its credits and the full names its transcript introduces.
Voiceprints stay first: a speaker they name keeps that name, and speech that says otherwise is flagged.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.config import ShowProfile, SpeakersOptions
from pipeline.engine.stage import BatchStage, Job
from pipeline.lib.lexicon import names_in_text, readings_of
from pipeline.lib.naming import candidates, decide, family_name, mentions, weigh
from pipeline.records import Episode
from pipeline.text.normalise import katakana
from pipeline.text.reader import Reader

Person = tuple[str, str, list[str]]  # (name, source, other written forms)


class NamesStage(BatchStage):
    name = "names"
    version = "1"
    requires = ("turns", "speakers", "context", "dedup", "source", "show")
    produces = ("speakers",)
    cacheable = False  # cheap, and its inputs are other episodes' speakers too

    def __init__(self, options: SpeakersOptions) -> None:
        self.options = options

    def options_key(self, job: Job) -> Any:
        return {"speakers": self.options, "hosts": job.profile.hosts if job.profile else []}

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
                self.name_from_speech(episode, reader, job.profile, batch)
            except Exception as e:  # noqa: BLE001 - one episode's failure is that episode's error record
                failed[episode.episode_id] = e
        return failed

    def name_from_speech(self, episode: Episode, reader: Reader, profile: ShowProfile | None,
                         batch: list[Person]) -> None:  # fmt: skip
        """Speakers without a voiceprint named from the cues in the turns; a voiceprint that speech contradicts
        is flagged, not overruled, and a name a voiceprint holds is not given to another speaker."""
        o = self.options
        people = candidates([*self.people(episode, reader, profile), *batch],
                            lambda text: readings_of(text, reader), o.speech_min_reading_morae)  # fmt: skip

        def tokens(text: str) -> list[tuple[int, int, str]]:
            return [(a, b, katakana(m.reading_form())) for a, b, m in reader.tokenize(text)]

        found = mentions(episode.turns, people, tokens, tuple(o.honorifics), o.speech_near_min_morae)
        verdicts = decide(weigh(episode.turns, found, tuple(o.honorifics)), o.speech_min_evidence, o.speech_margin)
        hosts = {h.name for h in profile.hosts} if profile else set()
        held = {s.name: s for s in episode.speakers if s.name}
        for speaker in episode.speakers:
            verdict = verdicts.get(speaker.id)
            if verdict is None:
                continue
            speaker.cues = verdict.cues
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
