"""Command line: a thin layer over the library. Library errors become one-line messages and exit codes.

Exit codes: 0 all inputs processed; 1 some inputs failed (each has an error record); 2 bad usage or config.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click
import yaml

from pipeline import __version__
from pipeline.config import DEFAULT_CONFIG, Config, load_config, resolve_path
from pipeline.errors import ConfigError, PipelineError
from pipeline.typed import to_dict


def config_options(func):
    """--config and --set, shared by every command that reads the configuration."""

    @click.option(
        "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None, help=f"YAML file overriding keys of {DEFAULT_CONFIG.name} (partial is fine).",
    )  # fmt: skip
    @click.option(
        "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
        help="Override one option, e.g. --set transcribe.beam_size=1 (repeatable; value read as YAML).",
    )  # fmt: skip
    @functools.wraps(func)
    def wrapper(*args, config_path, overrides, **kwargs):
        try:
            config = load_config(config_path, overrides)
        except ConfigError as e:
            raise click.UsageError(str(e)) from e
        return func(*args, config=config, **kwargs)

    return wrapper


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as e:
        raise click.BadParameter("use K/N, e.g. 0/4", param_hint="--shard") from e
    if not (count > 0 and 0 <= index < count):
        raise click.BadParameter("need 0 <= K < N", param_hint="--shard")
    return index, count


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging (tracebacks of failed files).")
def cli(verbose: bool) -> None:
    """Turn broadcast and podcast audio, or scraped transcripts, into structured JSONL records.

    Typical use: `pipeline run samples/ --output outputs/`. Defaults live in configs/default.yaml.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(message)s")
    if not verbose:  # faster-whisper logs every file's VAD and language at INFO; our per-file line says enough
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs"),
    show_default=True, help="Folder for episodes.jsonl and the stage cache.",
)  # fmt: skip
@click.option("--shard", "shard_text", metavar="K/N", help="Process only shard K of N (split a batch across machines).")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when stderr is a terminal).")
@config_options
def run(inputs: tuple[Path, ...], output_dir: Path, shard_text: str | None, progress: bool | None, config: Config) -> None:
    """Process audio and transcript files (or folders of them) into OUTPUT/episodes.jsonl.

    Each input gets one record; a file that cannot be processed gets an error record and the rest go on.
    Stage results are cached, so an unchanged file is not transcribed again.
    """
    from tqdm import tqdm

    from pipeline.runner import Runner, discover, shard

    files, skipped = discover(list(inputs), config)
    for path in skipped:
        click.echo(f"skip  {path}: unsupported file type", err=True)
    if (parts := _shard(shard_text)) is not None:
        files = shard(files, *parts)
    if not files:
        raise click.UsageError("no audio or transcript files to process")
    show_progress = sys.stderr.isatty() if progress is None else progress
    try:
        runner = Runner(config, output_dir, show_progress=show_progress)
    except PipelineError as e:
        raise click.ClickException(str(e)) from e
    failed = 0
    results = []
    with tqdm(total=len(files), unit="file", desc="batch", disable=not show_progress) as bar:
        for result in runner.run(files):
            results.append(result)
            bar.update(1)
            e = result.episode
            cached = [r.stage for r in e.provenance.stages if r.cached]
            if result.ok:
                what = f"{e.duration:.1f} s audio" if e.duration is not None else f"{len(e.text)} chars"
                note = f"; {'; '.join(e.notes)}" if e.notes else ""
                cache_note = f" (cached: {', '.join(cached)})" if cached else ""
                tqdm.write(f"ok    {e.source.path}: {what}, {len(e.segments)} segments, {result.seconds:.1f} s{cache_note}{note}")
            else:
                failed += 1
                tqdm.write(f"FAIL  {e.source.path}: {e.error.stage}: {e.error.message}", file=sys.stderr)
    for result in results:  # the batch stages ran once the loop above was done
        if (d := result.episode.dedup) and d.removals:
            kinds = ", ".join(f"{k} {v}" for k, v in d.removed_chars.items())
            click.echo(f"dedup {result.episode.source.path}: removed {d.removed_share:.0%} of the text ({kinds} chars)")
    click.echo(f"{len(files) - failed} ok, {failed} failed -> {output_dir / 'episodes.jsonl'}")
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--write", is_flag=True, help="Write the schema files under schema/ instead of printing.")
@click.option("--check", is_flag=True, help="Exit 1 if a committed schema differs from the code.")
@click.option("--turn", is_flag=True, help="The per-turn search record (turns.jsonl) instead of the episode record.")
def schema(write: bool, check: bool, turn: bool) -> None:
    """Print the JSON Schema of episode records (or, with --turn, turn records); generated from pipeline/records.py."""
    from pipeline.emit import SCHEMA_PATH, TURN_SCHEMA_PATH, schema_texts
    from pipeline.fileio import atomic_write_bytes

    texts = schema_texts()
    if check:
        stale = [p for p, text in texts.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
        if stale:
            raise click.ClickException(f"{', '.join(map(str, stale))} out of date: run `pipeline schema --write`")
        click.echo("schema files are up to date")
    elif write:
        for path, text in texts.items():
            atomic_write_bytes(path, text.encode("utf-8"))
            click.echo(f"wrote {path}")
    else:
        click.echo(texts[TURN_SCHEMA_PATH if turn else SCHEMA_PATH], nl=False)


@cli.command("config")
@config_options
def show_config(config: Config) -> None:
    """Print the effective configuration (defaults + --config + --set) and its hash."""
    click.echo(yaml.safe_dump(to_dict(config), allow_unicode=True, sort_keys=False), nl=False)
    click.echo(f"# config hash: {config.hash()}")


@cli.group()
def models() -> None:
    """Speech recognition models: list what is available, prepare the bundled one."""


@models.command("list")
@config_options
def models_list(config: Config) -> None:
    """Show the configured model, the bundled model's state, and hub names that need internet."""
    from faster_whisper.utils import available_models

    from pipeline.models import BUNDLED_NAME, BUNDLED_SHA256, bundled_dir

    cache = resolve_path(config.models.cache_dir)
    ready = (bundled_dir(cache) / "model.bin").is_file()
    click.echo(f"configured: {config.transcribe.model}")
    click.echo(f"bundled:    {BUNDLED_NAME} (Whisper base, sha256 {BUNDLED_SHA256[:12]}...) "
               f"{'ready in ' + str(bundled_dir(cache)) if ready else 'not assembled yet (pipeline models prepare)'}")  # fmt: skip
    click.echo("local:      any CTranslate2 Whisper directory, given as a path")
    click.echo(f"hub:        {', '.join(available_models())} or an org/name repo id (need internet the first time)")


@models.command("prepare")
@click.argument("name", required=False)
@config_options
def models_prepare(name: str | None, config: Config) -> None:
    """Make NAME (default: the configured model) ready to load: assemble the bundled base, or download."""
    from pipeline.models import resolve

    try:
        resolved = resolve(name or config.transcribe.model, resolve_path(config.models.cache_dir))
    except PipelineError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{resolved.identity} -> {resolved.path}")


@cli.command()
@click.option("--show", "show_key", required=True, help="Show profile key (configs/shows/<KEY>.yaml).")
@click.option("--name", required=True, help="The host's full name, as it should appear in records.")
@click.argument("clip", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_options
def enrol(show_key: str, name: str, clip: Path, config: Config) -> None:
    """Store a host's voiceprint from CLIP (about 10 s of their voice alone) for the show SHOW.

    Diarized speakers whose voice matches it (diarize.enrol_threshold) are named NAME in that show's records.
    """
    from pipeline.audio import decode
    from pipeline.diarize import Diarizer
    from pipeline.diarize_stage import embedding_model_identity
    from pipeline.fileio import sha256_file
    from pipeline.voices import Voiceprint, save

    shows_dir = resolve_path(config.input.shows_dir)
    if not (shows_dir / f"{show_key}.yaml").is_file():
        raise click.UsageError(f"no show profile {shows_dir / (show_key + '.yaml')}")
    try:
        audio = decode(clip, config.ingest.sample_rate, config.ingest.truncation_tolerance, config.ingest.corrupt_below)
    except PipelineError as e:
        raise click.ClickException(f"{clip}: {e}") from e
    try:
        embedding = Diarizer(config.diarize).voiceprint(audio.samples, audio.sample_rate)
    except ValueError as e:  # no speech in the clip
        raise click.ClickException(f"{clip}: {e}") from e
    path = save(shows_dir, show_key, Voiceprint(
        name=name, model=embedding_model_identity(), clip_sha256=sha256_file(clip),
        clip_seconds=round(audio.duration, 2), embedding=[round(float(x), 6) for x in embedding],
    ))  # fmt: skip
    click.echo(f"enrolled {name} for {show_key} from {audio.duration:.1f} s of audio -> {path}")


def main() -> None:
    cli(prog_name="pipeline")
