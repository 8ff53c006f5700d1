"""Names for diarized speakers from what is said: self-introductions, introductions and addresses.

A broadcast says who is talking: 「パーソナリティの山田太郎です」 (a self-introduction, by the speaker), 「東都大学の中村
美咲さんにお越しいただきました」 (an introduction, after which the guest speaks), 「中村さん、…」 (an address, which
the addressed person answers), 「お相手は山田太郎でした」. This module finds those cues in the turns of an audio
episode and weighs them per speaker. Pure functions over turns and candidates; readings come from a function given
to it (the Sudachi reader's, as the corrector's), so tests need no model.

Candidates, not free text, are what a speaker can be named: the show profile's hosts, the people the episode's
notes name, the page's credits, and full names the transcript introduces with an honorific (中村美咲さん) that the
dictionary reads as a family name and a given name. A mention is found as written (the full name, the family name,
an alias) or by reading (仲村みさき, ハセガワ: the same phonetic key as the candidate's, for names of at least
`min_reading_morae` morae), so an ASR spelling still points at the canonical name.

Precision first: a wrong name is worse than none. A speaker is named only when its evidence reaches
`speech_min_evidence` (a self-introduction counts 2, an introduction or address 1), the best name has at least
`speech_margin` times the evidence of the next, the speaker does not itself address that name, and no other
speaker has as good a claim to the name. A diarized voice that is really two people (two similar voices the
clustering joined) shows it in what is said: it introduces itself as two people, or it is the first to answer,
again and again, when another person is introduced or addressed; such a voice gets no name. A voice that
introduced itself as X and that others call X does not call X itself: those mentions in its turns are another
voice's words the diarization left there, set aside (`weigh`). When the show lists its hosts and all but one are
named, `last_host` finds the one voice that can only be the last.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz.distance import Levenshtein

from pipeline.lib.lexicon import morae, phonetic_key
from pipeline.records import SpeakerCue, Turn
from pipeline.text.normalise import hiragana

CueKind = Literal["self_introduction", "introduction", "address"]
WEIGHT: dict[str, int] = {"self_introduction": 2, "introduction": 1, "address": 1}

# After a name, what makes it the speaker's own (山田です, 山田でした, 山田と申します, 三宅がお伝えします, 鷲尾がお届けします).
_SELF_AFTER = re.compile(r"^(?:です|でした|と申します|と言います|がお(?:伝え|送り|届け)(?:します|しました))")
# Before a name, what makes it someone else even without an honorific (ゲストは山田です).
_OTHER_BEFORE = ("ゲスト", "お客様", "講師", "先生は")
# After name + honorific: someone greeted or thanked (an address), or brought in (an introduction: 中村さんにお越し
# いただきました, 中村さんです, 中村さんからお電話です); anything else (中村さんのような) is talk about a person.
_GREETINGS = ("おはよう", "こんにちは", "こんばんは", "ありがとう", "お願い", "どうぞ", "いかが", "よろしく", "宜しく")
_INTRODUCING = ("に", "を", "から", "です", "でした", "が")
_SIGN_OFF = re.compile(r"お相手は、?$")  # お相手は山田と佐藤でした: the hosts sign off, each with their own name
_SPACE = re.compile(r"(?<=[ぁ-ゖァ-ヺー一-龥々]) +(?=[ぁ-ゖァ-ヺー一-龥々])")
_SENTENCE_END = "。？！?!"
_OPENING = re.compile(r"(?:^|[。？！?!]|です|ます|ございます)$")  # a sentence starts here
_QUESTION = re.compile(r"(?:か|[？?]|でしょう|ますかね|ですかね)$")  # the sentence ends asking
_LOOKAHEAD_TURNS = 3  # an introduced or addressed person answers within this many turns


@dataclass(frozen=True)
class Candidate:
    """A person a speaker may be named as, with the written forms and reading keys it is found by."""

    name: str
    source: str  # profile, context, credits, introduction
    forms: tuple[str, ...]  # the full name, the family name, aliases: found as written
    keys: tuple[str, ...]  # phonetic keys of those forms long enough to be found by reading


@dataclass
class Evidence:
    """What the episode says about one speaker."""

    cues: list[SpeakerCue] = field(default_factory=list)
    score: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    says: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # names the speaker addresses
    # turns in which this speaker, introduced as someone else, answered first when another person was introduced
    # or addressed (by that person's name): a joined voice?
    contested: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    absorbed: list[int] = field(default_factory=list)  # turns holding another voice's words (see `weigh`)


def candidates(people: Iterable[tuple[str, str, Iterable[str]]], readings: Callable[[str], list[str]],
               min_reading_morae: int) -> list[Candidate]:  # fmt: skip
    """Candidates from (name, source, other written forms) triples, first source kept for a name; each form is also
    found in kana (ふわさん, シシドさん). One-character forms are left out (a lone 彩 is everywhere), and so is a form
    two people share."""
    by_name: dict[str, tuple[str, list[str]]] = {}
    for name, source, forms in people:
        name = name.strip()
        if len(name) < 2:
            continue
        kept = by_name.setdefault(name, (source, [name]))[1]
        written = [name, *forms]
        kana = [k for f in written for r in readings(f)[:1] for k in (r, hiragana(r))]  # ふわさん, シシドさん
        kept += [f for f in [*forms, *kana] if len(f) >= 2 and f not in kept]
    owners: dict[str, set[str]] = defaultdict(set)
    for name, (_, forms) in by_name.items():
        for form in forms:
            owners[form].add(name)
    out = []
    for name, (source, forms) in by_name.items():
        own = tuple(f for f in forms if len(owners[f]) == 1)
        out.append(Candidate(name, source, own, tuple(reading_keys(own, readings, min_reading_morae))))
    # a full name only the transcript introduces, sounding like a name the profile or notes give, is that person
    # misheard (宮城ヒロさん for 三宅千尋): not a candidate of its own
    given = {k for c in out if c.source != "introduction" for k in c.keys}
    return [c for c in out if c.source != "introduction" or not any(
        Levenshtein.distance(k, g, score_cutoff=2) <= 2 for k in c.keys for g in given)]  # fmt: skip


def reading_keys(forms: Iterable[str], readings: Callable[[str], list[str]], min_morae: int) -> set[str]:
    """Phonetic keys of the forms' readings long enough to find a name by (ハセガワ; not サト, which turns up by
    chance)."""
    return {k for f in forms for r in readings(f) if morae(k := phonetic_key(r)) >= min_morae}


def near(key: str, keys: Iterable[str], long_morae: int) -> bool:
    """The key equals one of keys, or is one edit off a key of at least long_morae morae (巻べ高雪 マキベタカユキ for
    真壁隆之 マカベタカユキ): an episode has a handful of people, so a long name one mora off is still theirs."""
    return any(key == k or morae(k) >= long_morae and Levenshtein.distance(key, k, score_cutoff=1) <= 1 for k in keys)


@dataclass(frozen=True)
class Mention:
    turn: int  # index in the turns
    start: int
    end: int  # offsets in the turn's text with Whisper's inner spaces taken out
    text: str
    name: str  # the candidate's name
    # 0 as written, 1 by reading, 2 one mora off a long name, 3 one mora off a short one: only good as a
    # self-introduction in the speaker's first turn, weighing 1 (応べです for 乙部, answering 乙部千景さんにお越し…)
    how: int = 0


def mentions(turns: list[Turn], people: list[Candidate], tokens: Callable[[str], list[tuple[int, int, str]]],
             honorifics: tuple[str, ...], long_morae: int, self_morae: int) -> list[Mention]:  # fmt: skip
    """Where each candidate is named in the turns: as written, or by the reading of a run of up to four words
    (`tokens(text)` gives (start, end, katakana reading) per word; `near`). A stretch that could be two people is
    left out."""
    found: list[Mention] = []
    for index, turn in enumerate(turns):
        text = plain(turn.text, honorifics)
        spans: dict[tuple[int, int, int], set[str]] = defaultdict(set)  # (how, start, end), as Mention.how
        for person in people:
            for form in person.forms:
                for m in re.finditer(re.escape(form), text):
                    spans[(0, *m.span())].add(person.name)
        words = tokens(text)
        for i in range(len(words)):
            reading = ""
            for j in range(i, min(len(words), i + 4)):
                reading += words[j][2]
                key = phonetic_key(reading)
                for person in people:
                    if key in person.keys:
                        spans[(1, words[i][0], words[j][1])].add(person.name)
                    elif near(key, person.keys, long_morae):
                        spans[(2, words[i][0], words[j][1])].add(person.name)
                    elif near(key, person.keys, self_morae):
                        spans[(3, words[i][0], words[j][1])].add(person.name)
        taken: list[tuple[int, int]] = []
        ranked = sorted(spans.items(), key=lambda s: (s[0][0] >= 2, s[0][1] - s[0][2], s[0][0], s[0][1]))
        for (how, a, b), names in ranked:  # exact ones (as written or by reading), the longest first
            if len(names) != 1 or any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            found.append(Mention(index, a, b, text[a:b], next(iter(names)), how))
    return sorted(found, key=lambda m: (m.turn, m.start))


def cue_of(mention: Mention, text: str, honorifics: tuple[str, ...]) -> CueKind | None:
    """What a mention says: the speaker's own name (self_introduction: 山田です, お相手は山田と…), someone introduced
    or addressed (with an honorific), or nothing (a name in passing: 山田の本では)."""
    after = text[mention.end :]
    before = text[max(0, mention.start - 6) : mention.start]
    if _SIGN_OFF.search(before) and re.match(r"^(?:と|でした)", after):
        return "self_introduction"  # お相手は山田と (佐藤でした): each host says their own name
    if after.startswith(honorifics):
        rest = after[next(len(h) for h in honorifics if after.startswith(h)) :]
        if not rest or rest[:1] in "、,，" + _SENTENCE_END or rest.startswith(_GREETINGS):
            return "address"  # 中村さん、… / 中村さんおはようございます
        if rest.startswith("は") and _QUESTION.search(_sentence_rest(rest)):
            return "address"  # 中村さんは、休日は何をされていますか: a question put to her
        return "introduction" if rest.startswith(_INTRODUCING) else None  # 中村さんのような…: talk about someone
    if _SELF_AFTER.match(after) and not any(word in before for word in _OTHER_BEFORE):
        return "self_introduction"
    return None


def weigh(turns: list[Turn], found: list[Mention], honorifics: tuple[str, ...]) -> dict[str, Evidence]:
    """Evidence per speaker id: a self-introduction for the speaker of the turn; an introduction or address for the
    next other speaker within a few turns, and against the speaker who said it (nobody addresses themselves)."""
    texts = [plain(t.text, honorifics) for t in turns]
    first = {}  # each speaker's first turn: where a guest answers 乙部です
    for index, turn in enumerate(turns):
        first.setdefault(turn.speaker, index)
    cues = [(m, kind) for m in found if (kind := cue_of(m, texts[m.turn], honorifics)) and (
        m.how < 3 or kind == "self_introduction" and first[turns[m.turn].speaker] == m.turn
        and _OPENING.search(texts[m.turn][: m.start]))]  # fmt: skip
    evidence = _tally(turns, texts, cues)
    # A voice that introduced itself as X, and that another speaker introduced or addressed as X, does not call X
    # in its own turns: those are another voice's words the diarization put there (a host's 乙部さん、… between
    # the guest's answers). They are taken out, with the turns kept as evidence, instead of sinking both voices.
    absorbed = [(m, kind) for m, kind in cues if kind != "self_introduction" and _claimed(
        evidence[turns[m.turn].speaker], m.name, turns[m.turn].speaker)]  # fmt: skip
    if not absorbed:
        return evidence
    evidence = _tally(turns, texts, [c for c in cues if c not in absorbed])
    for m, _ in absorbed:
        evidence[turns[m.turn].speaker].absorbed.append(turns[m.turn].id)
    return evidence


def _tally(turns: list[Turn], texts: list[str], cues: list[tuple[Mention, CueKind]]) -> dict[str, Evidence]:
    evidence: dict[str, Evidence] = defaultdict(Evidence)
    own: dict[str, set[str]] = defaultdict(set)  # names each speaker introduced as their own
    for m, kind in cues:
        if kind == "self_introduction":
            own[turns[m.turn].speaker].add(m.name)
    for m, kind in cues:
        turn = turns[m.turn]
        if kind == "self_introduction":
            who = turn.speaker
        else:  # the next other speaker, not one who said they are somebody else (a host greeting a caller)
            evidence[turn.speaker].says[m.name] += 1
            others = [t for t in turns[m.turn + 1 : m.turn + 1 + _LOOKAHEAD_TURNS] if t.speaker != turn.speaker]
            later = [t.speaker for t in others if not own[t.speaker] - {m.name}]
            if others and others[0].speaker not in later:
                evidence[others[0].speaker].contested[m.name].append(others[0].id)
            if not later:
                continue
            who = later[0]
        phrase = _phrase(texts[m.turn], m)
        cue = SpeakerCue(kind=kind, name=m.name, turn=turn.id, said_by=turn.speaker, phrase=phrase)
        evidence[who].cues.append(cue)
        evidence[who].score[m.name] += WEIGHT[kind] if m.how < 3 else 1  # one mora off a short name: half
    return evidence


def _claimed(ev: Evidence, name: str, speaker: str) -> bool:
    """The speaker introduced itself as name and another speaker's cue agrees."""
    kinds = {(c.kind, c.said_by == speaker) for c in ev.cues if c.name == name}
    return ("self_introduction", True) in kinds and any(not own for _, own in kinds)


def _sentence_rest(text: str) -> str:
    """The text up to and including the first sentence end (the whole text when there is none)."""
    ends = [i for i in (text.find(ch) for ch in _SENTENCE_END) if i >= 0]
    return text[: min(ends) + 1] if ends else text


def plain(text: str, honorifics: tuple[str, ...]) -> str:
    """A turn's text as names are looked for in it: Whisper's spaces between Japanese chunks taken out, except
    after an honorific, where the pause is a comma (シシドさん 今年は… = シシドさん、今年は…: an address)."""
    pause = re.compile(rf"({'|'.join(map(re.escape, honorifics))}) +(?=[ぁ-ゖァ-ヺー一-龥々])")
    return _SPACE.sub("", pause.sub(r"\1、", text))


def _phrase(text: str, m: Mention) -> str:
    """The sentence around a mention (at most 60 characters) in the turn's plain text."""
    start = max((text.rfind(ch, 0, m.start) for ch in _SENTENCE_END), default=-1) + 1
    end = m.end + len(_sentence_rest(text[m.end :]))
    return text[max(start, m.start - 30) : min(end, m.end + 30)].strip()


@dataclass(frozen=True)
class Verdict:
    speaker: str
    name: str | None  # None: the evidence is weak or conflicting
    confidence: float  # the best name's share of the evidence, 0-1
    cues: list[SpeakerCue]
    joined: tuple[list[int], list[int]] | None = None  # turns showing two people in this voice (see `joined`)
    absorbed: tuple[int, ...] = ()  # its turns that hold another voice's words, by what is said (see `weigh`)
    calls: int = 0  # how often this speaker introduces or addresses someone by name


def decide(evidence: dict[str, Evidence], min_evidence: int, margin: float) -> dict[str, Verdict]:
    """The name each speaker's evidence supports, if it is strong, unrivalled and not claimed better by another."""
    best: dict[str, tuple[str, int, float]] = {}
    for speaker, ev in evidence.items():
        ranked = sorted(ev.score.items(), key=lambda s: (-s[1], s[0]))
        if not ranked:
            continue
        name, score = ranked[0]
        runner = ranked[1][1] if len(ranked) > 1 else 0
        total = sum(ev.score.values()) + ev.says.get(name, 0)
        if joined(ev, min_evidence) is not None:
            continue  # one voice that is two people, or answers for another as often as a name needs: joined
        if score >= min_evidence and score >= margin * runner and ev.says.get(name, 0) == 0:
            best[speaker] = (name, score, round(score / total, 3))
    claims: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for speaker, (name, score, _) in best.items():
        claims[name].append((score, speaker))
    out = {}
    for speaker, ev in evidence.items():
        name, confidence = None, 0.0
        if speaker in best:
            candidate, score, share = best[speaker]
            rivals = [s for s, other in claims[candidate] if other != speaker]
            if all(score >= margin * s for s in rivals):  # one speaker per name: the clear winner, or nobody
                name, confidence = candidate, share
        out[speaker] = Verdict(speaker, name, confidence, ev.cues, joined(ev, min_evidence), tuple(ev.absorbed),
                               sum(ev.says.values()))
    return out


def last_host(turns: list[Turn], verdicts: dict[str, Verdict], names: dict[str, str],
              hosts: list[str]) -> tuple[str, str] | None:  # fmt: skip
    """(speaker, host) when every host the show lists but one is some speaker's name (`names`: speaker -> name),
    and exactly one unnamed voice speaks as a host: it talks in the opening, before anyone else is brought in or
    called by name, it calls others by name itself or is called by that host's name, and no cue calls it anyone
    else. Else None."""
    left = [h for h in dict.fromkeys(hosts) if h not in names.values()]
    if len(hosts) < 2 or len(left) != 1:
        return None
    opening = min((c.turn for v in verdicts.values() for c in v.cues
                   if c.kind != "self_introduction" and c.name not in hosts), default=None)  # fmt: skip
    if opening is None:
        return None  # no guest or caller: nothing tells a host's voice from another's
    voices = []
    for speaker in dict.fromkeys(t.speaker for t in turns if t.id < opening and t.speaker not in names):
        v = verdicts.get(speaker) or Verdict(speaker, None, 0.0, [])
        if (v.calls or v.cues) and not v.joined and all(c.name == left[0] for c in v.cues):
            voices.append(speaker)
    return (voices[0], left[0]) if len(voices) == 1 else None


def joined(ev: Evidence, min_evidence: int) -> tuple[list[int], list[int]] | None:
    """Two people in one diarized voice, by what is said: the turns that show each (Turn.id), or None. Either the
    voice introduces itself as two people, or it introduces itself as one and answers first, at least
    min_evidence times, when another is introduced or addressed."""
    selves: dict[str, list[int]] = defaultdict(list)
    for cue in ev.cues:
        if cue.kind == "self_introduction":
            selves[cue.name].append(cue.turn)
    if len(selves) > 1:
        first, second = sorted(selves.items(), key=lambda s: (-len(s[1]), s[0]))[:2]
        return first[1], second[1]
    if len(selves) == 1:
        (name, own), = selves.items()
        answers = max((sorted(set(t)) for n, t in ev.contested.items() if n != name), key=len, default=[])
        if len(answers) >= min_evidence:  # distinct turns: two mentions in one turn are one answer
            return own, answers
    return None


def family_name(name: str, reader, whole: bool = False) -> str | None:
    """The family name a person's name starts with, when the dictionary reads its first word as one (塚越 of
    塚越あかり); with whole, only when the rest is a given name (中村|美咲, not ハセガ|は)."""
    words = [(a, b, m.part_of_speech()) for a, b, m in reader.tokenize(name)]
    if len(words) < 2 or words[0][2][1:4] != ("固有名詞", "人名", "姓"):
        return None
    if whole and not (len(words) == 2 and words[1][2][1:4] == ("固有名詞", "人名", "名")):
        return None
    return name[: words[0][1]]
