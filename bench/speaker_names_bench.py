"""Speaker names from speech, measured: which diarized speaker got which name, against the shows' scripts.

For each show of a folder laid out as bench/accuracy/ or bench/speakers/ (audio, `reference/<stem>.json` with the
speakers' full names and turn times, optionally `notes/<stem>.notes.txt`), runs `pipeline run` on the audio (with
its notes beside it when `--notes`), into a persistent output folder so a second run reuses the transcription and
diarization, and scores each diarized speaker: the reference speaker who says most of its turns' time is who it
is; its name is *right* when it equals that speaker's full name, *wrong* when it is another name, *none* when it
has none. Also the speaker count against the reference and the voices the diarization lost (a reference speaker
who is the majority of no diarized speaker).

    .venv/bin/python bench/speaker_names_bench.py --dir bench/speakers --notes [--set speakers.speech_names=false]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUDIO = (".mp3", ".ogg", ".wav", ".m4a", ".flac")


@dataclass
class ShowScore:
    stem: str
    reference_speakers: int
    diarized_speakers: int
    right: list[str] = field(default_factory=list)  # full names given right
    wrong: list[str] = field(default_factory=list)  # "given (is really)"
    unnamed: list[str] = field(default_factory=list)  # reference names no speaker carries
    lost: list[str] = field(default_factory=list)  # reference speakers who are nobody's majority
    how: dict[str, str] = field(default_factory=dict)  # name -> named_by


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def who_is_who(record: dict, reference: dict) -> dict[str, str]:
    """Diarized speaker id -> the reference speaker id that says most of its turns' time."""
    time: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for turn in record.get("turns") or []:
        if turn.get("start") is None:
            continue
        for ref in reference["turns"]:
            time[turn["speaker"]][ref["speaker"]] += overlap((turn["start"], turn["end"]), (ref["start"], ref["end"]))
    return {s: max(sorted(t), key=lambda r: t[r]) for s, t in time.items() if any(t.values())}


def score(stem: str, record: dict, reference: dict) -> ShowScore:
    full = {s["id"]: s["full_name"] for s in reference["speakers"]}
    mapping = who_is_who(record, reference)
    result = ShowScore(stem, len(full), len(record.get("speakers") or []))
    named = set()
    for speaker in record.get("speakers") or []:
        name, truth = speaker.get("name"), full.get(mapping.get(speaker["id"], ""))
        if name is None:
            continue
        result.how[name] = speaker.get("named_by") or "?"
        if name == truth:
            result.right.append(name)
            named.add(name)
        else:
            result.wrong.append(f"{name} (is {truth})")
    result.unnamed = [n for n in full.values() if n not in named]
    result.lost = [full[r] for r in full if r not in mapping.values()]
    return result


def run(audio: Path, notes: Path | None, output: Path, overrides: list[str]) -> dict:
    inputs = output / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for old in inputs.iterdir():
        old.unlink()
    shutil.copy2(audio, inputs / audio.name)
    if notes is not None and notes.is_file():
        shutil.copy2(notes, inputs / notes.name)
    command = [sys.executable, "-m", "pipeline", "run", str(inputs), "--output", str(output / "out"), "--no-progress"]
    for override in overrides:
        command += ["--set", override]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = (output / "out" / "episodes.jsonl").read_text(encoding="utf-8").splitlines() if done.returncode < 2 else []
    records = [json.loads(line) for line in lines if line.strip()]
    if not records:
        raise SystemExit(f"{audio.name}: no record (exit {done.returncode}): {done.stderr[-2000:]}")
    return records[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "speakers")
    ap.add_argument("--shows", nargs="+", metavar="STEM")
    ap.add_argument("--notes", action="store_true", help="put <stem>.notes.txt from DIR/notes beside the audio")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".cache" / "speaker_names",
                    help="output folders (stage caches) per show")  # fmt: skip
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--out-json", type=Path)
    args = ap.parse_args(argv)
    shows = sorted(p for p in args.dir.iterdir() if p.suffix in AUDIO and (not args.shows or p.stem in args.shows))
    results = []
    print("| show | speakers (ref / diarized) | right | wrong | not named | voices lost |")
    print("| --- | ---: | ---: | --- | --- | --- |")
    for audio in shows:
        notes = args.dir / "notes" / f"{audio.stem}.notes.txt" if args.notes else None
        record = run(audio, notes, args.work / ("notes" if args.notes else "plain") / audio.stem, args.overrides)
        reference = json.loads((args.dir / "reference" / f"{audio.stem}.json").read_text(encoding="utf-8"))
        s = score(audio.stem, record, reference)
        results.append(s)
        print(f"| {s.stem} | {s.reference_speakers} / {s.diarized_speakers} | {len(s.right)}/{s.reference_speakers} "
              f"({', '.join(f'{n} [{s.how[n]}]' for n in s.right)}) | {', '.join(s.wrong) or '-'} | "
              f"{', '.join(s.unnamed) or '-'} | {', '.join(s.lost) or '-'} |")  # fmt: skip
    total = sum(s.reference_speakers for s in results)
    print(f"\nright {sum(len(s.right) for s in results)}/{total}, wrong {sum(len(s.wrong) for s in results)}, "
          f"speaker count right on {sum(s.reference_speakers == s.diarized_speakers for s in results)}/{len(results)}")  # fmt: skip
    if args.out_json:
        args.out_json.write_text(json.dumps([s.__dict__ for s in results], ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
