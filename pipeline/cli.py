"""Command line: a thin layer over the library. Library errors become one-line messages and exit codes.

Exit codes: 0 all inputs processed; 1 some inputs failed (each has an error record), or the command failed
(e.g. disk full: the previous outputs are kept); 2 bad usage or config; 3 (run) the output folder is in use by
another run.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click
import yaml

from pipeline import __version__
from pipeline.config import DEFAULT_CONFIG, Config, load_config, resolve_path
from pipeline.config.options import MAX_SEARCH_LIMIT
from pipeline.engine.progress import printable
from pipeline.errors import ConfigError, OutputBusyError, PipelineError
from pipeline.records.base import to_dict

# Where `pipeline run` writes and `pipeline search` looks when not told otherwise.
DEFAULT_OUTPUT = Path("outputs")


def printable_json(data: object) -> str:
    """One line of JSON whose characters that would act on a terminal (C1 controls such as U+009B, line
    separators, bidi overrides) are written as \\uXXXX escapes: the same JSON value, safe to print."""
    text = json.dumps(data, ensure_ascii=False)
    return "".join(ch if ch.isprintable() else json.dumps(ch)[1:-1] for ch in text)


def config_options(example: str):
    """--config and --set, shared by every command that reads the configuration; `example` is a --set value that
    suits the command (SECTION.KEY=VALUE), shown in its help."""
    if callable(example):  # used bare, as before: the command would silently lose its --set example
        raise TypeError("config_options needs the command's --set example: @config_options('section.key=value')")

    def decorate(func):
        @click.option(
            "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None, help=f"YAML file overriding keys of {DEFAULT_CONFIG.name} (partial is fine).",
        )  # fmt: skip
        @click.option(
            "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
            help=f"Override one option, e.g. --set {example} (repeatable; value read as YAML).",
        )  # fmt: skip
        @functools.wraps(func)
        def wrapper(*args, config_path, overrides, **kwargs):
            try:
                config = load_config(config_path, overrides)
            except ConfigError as e:
                raise click.UsageError(printable(str(e))) from e
            return func(*args, config=config, **kwargs)

        return wrapper

    return decorate


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


def _formats(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    """--formats txt,srt -> ['txt', 'srt'], each a known format; '' -> [] (no files)."""
    from pipeline.engine.formats import FORMATS

    if value is None:
        return None
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    if unknown := [name for name in names if name not in FORMATS]:
        raise click.BadParameter(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


class WholeSummaries(click.Group):
    """A group whose command list shows each command's first sentence whole, wrapped: click cuts it to the
    terminal's width with '...', which lost the end of most summaries."""

    group_class = type  # subgroups (models) list their commands the same way

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, cmd.get_short_help_str(limit=sys.maxsize)) for name, cmd in commands if cmd and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=WholeSummaries, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging (tracebacks of failed files).")
def cli(verbose: bool) -> None:
    """Turn broadcast and podcast audio, or scraped transcripts, into structured JSONL records.

    Typical use: `pipeline run samples/ --output outputs/`. Defaults live in configs/default.yaml.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(message)s")
    if not verbose:  # faster-whisper logs every file's VAD and language at INFO; our per-file line says enough
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)


RUN_EXAMPLES = """Examples:

\b
  pipeline run samples/ -o outputs/
  pipeline run shows/2024-03-13/ -o out/ --set transcribe.model=large-v3
  pipeline run talk.mp3 --config myshow.yaml --set diarize.max_speakers=3
  pipeline run shows/ -o out/ --formats srt,vtt --shard 0/4  # machine 1 of 4
  pipeline run /shared/shows/ -o out/ --executor ray --address 10.0.0.1:6379  # on a Ray cluster
"""


@cli.command(epilog=RUN_EXAMPLES)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUTPUT,
    show_default=True, help="Folder for episodes.jsonl and the stage cache.",
)  # fmt: skip
@click.option("--shard", "shard_text", metavar="K/N", help="Process only shard K of N (split a batch across machines).")
@click.option("--progress/--no-progress", default=None, help="Progress bars: the batch in audio seconds and the current file's stage (default: when stderr is a "
                   "terminal); without them, one timestamped line per stage and file.")
@click.option(
    "--formats", callback=_formats, metavar="LIST",
    help="Files per episode under OUTPUT/formats/: a comma list of txt, srt, vtt, tsv, rttm ('' for none; "
         "default: output.formats, all of them).",
)  # fmt: skip
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="Where the per-file stages run (default: runner.executor): local = in this process; ray = on "
                   "Ray worker processes, here or on a cluster (pip install '.[ray]').")  # fmt: skip
@click.option("--address", metavar="HOST:PORT", default=None,
              help="With --executor ray: join the Ray cluster whose head runs there (`ray start --head`); default "
                   "runner.ray.address, none = start a local Ray instance.")  # fmt: skip
@click.option("--clips", is_flag=True, default=None,
              help="Cut an audio clip of every alert on audio, beside alerts.jsonl (default: alerts.clips).")
@config_options("transcribe.beam_size=1")
def run(
    inputs: tuple[Path, ...], output_dir: Path, shard_text: str | None, progress: bool | None,
    formats: list[str] | None, executor: str | None, address: str | None, clips: bool | None, config: Config,
) -> None:  # fmt: skip
    """Process audio and transcript files (or folders of them) into OUTPUT/episodes.jsonl.

    Each input gets one record; a file that cannot be processed gets an error record and the rest go on.
    Stage results are cached, so an unchanged file is not transcribed again. One run at a time writes an output
    folder: a second run into it stops with exit status 3.
    """
    from tqdm import tqdm

    from pipeline.engine.inputs import discover, shard
    from pipeline.engine.progress import LogProgress, TerminalProgress, slowest, stage_table
    from pipeline.engine.work import Task
    from pipeline.plan import make_runner

    if formats is not None:  # --formats overrides output.formats, after --config and --set
        config = Config.model_validate({**to_dict(config), "output": {**to_dict(config.output), "formats": formats}})
    if clips:  # like --formats: after --config and --set
        config = config.with_values({"alerts.clips": True})
    if executor is not None:  # like --formats: after --config and --set
        config = config.with_values({"runner.executor": executor})
    if address is not None:
        if config.runner.executor != "ray":
            raise click.UsageError("--address joins a Ray cluster: use it with --executor ray")
        config = config.with_values({"runner.ray.address": address})
    files, skipped = discover(list(inputs), config.input)
    for skip in skipped:
        click.echo(printable(f"skip  {skip.path}: {skip.reason}"), err=True)
    if (parts := _shard(shard_text)) is not None:
        files = shard(files, *parts)
    if not files:
        raise click.UsageError("no audio or transcript files to process")
    bars = sys.stderr.isatty() if progress is None else progress
    watcher = TerminalProgress(sys.stderr) if bars else LogProgress(sys.stderr)
    try:
        runner = make_runner(config, output_dir, watcher)
    except ConfigError as e:  # a bad show profile or gazetteer: a configuration problem, exit 2
        raise click.UsageError(str(e)) from e
    except PipelineError as e:
        raise click.ClickException(str(e)) from e
    reported: set[int] = set()

    def on_file(task: Task, phase: int) -> None:
        """One line per file when its first stages are done (transcription: the long part); failures of
        later stages are reported after the batch."""
        if phase != 0:
            return
        e = task.episode
        if e.status != "ok":
            reported.add(task.index)
            tqdm.write(printable(f"FAIL  {e.source.path}: {e.error.stage}: {e.error.message}"), file=sys.stderr)
            return
        cached = [r.stage for r in e.provenance.stages if r.cached]
        what = f"{e.duration:.1f} s audio" if e.duration is not None else f"{len(e.text)} chars"
        note = f"; {'; '.join(e.notes)}" if e.notes else ""
        cache_note = f" (cached: {', '.join(cached)})" if cached else ""
        tqdm.write(printable(f"ok    {e.source.path}: {what}, {len(e.segments)} segments, {task.seconds:.1f} s"
                             f"{cache_note}{note}"))  # fmt: skip

    try:
        episodes = runner.run(files, on_file)
    except OutputBusyError as e:  # its own exit code: a caller may retry later
        click.echo(f"Error: {printable(str(e))}", err=True)
        sys.exit(3)
    except PipelineError as e:  # disk full: one line, the previous outputs are kept
        raise click.ClickException(printable(str(e))) from e
    for index, e in enumerate(episodes):
        if e.status != "ok" and index not in reported:
            click.echo(printable(f"FAIL  {e.source.path}: {e.error.stage}: {e.error.message}"), err=True)
        elif (d := e.dedup) and d.removals:
            kinds = ", ".join(f"{k} {v}" for k, v in d.removed_chars.items())
            click.echo(printable(f"dedup {e.source.path}: removed {d.removed_share:.0%} of the text ({kinds} chars)"))
    for line in stage_table(episodes):
        click.echo(line, err=True)
    if slow := slowest(episodes, config.runner.slowest_files):
        click.echo("slowest files:", err=True)
        for line in slow:
            click.echo(printable(line), err=True)
    failed = sum(e.status != "ok" for e in episodes)
    alerts = sum(len(e.alerts) for e in episodes if e.status == "ok")
    click.echo(printable(f"{len(episodes) - failed} ok, {failed} failed -> {output_dir / 'episodes.jsonl'}; {alerts} "
                         f"alert(s) -> {output_dir / 'alerts.jsonl'}"))  # fmt: skip
    if failed:
        sys.exit(1)


@cli.command("plan")
@config_options("runner.executor=local")
def show_plan(config: Config) -> None:
    """Print the stages a run goes through, in order, with what each reads and writes (checked on load)."""
    from pipeline.plan import default_plan

    for line in default_plan(config).describe():
        click.echo(line)


@cli.command()
@click.option("--write", is_flag=True, help="Write the schema files under schema/ instead of printing.")
@click.option("--check", is_flag=True, help="Exit 1 if a committed schema differs from the code.")
@click.option("--turn", is_flag=True, help="The per-turn search record (turns.jsonl) instead of the episode record.")
@click.option("--alert", is_flag=True, help="The alert record (alerts.jsonl) instead of the episode record.")
def schema(write: bool, check: bool, turn: bool, alert: bool) -> None:
    """Print the JSON Schema of episode records (or, with --turn / --alert, turn or alert records); generated from
    pipeline/records/."""
    from pipeline.files import atomic_write_bytes
    from pipeline.records.schema import ALERT_SCHEMA_PATH, SCHEMA_PATH, TURN_SCHEMA_PATH, schema_texts

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
        if turn and alert:
            raise click.UsageError("--turn and --alert: choose one record")
        click.echo(texts[TURN_SCHEMA_PATH if turn else ALERT_SCHEMA_PATH if alert else SCHEMA_PATH], nl=False)


@cli.command("config")
@config_options("summary.keywords=10")
def show_config(config: Config) -> None:
    """Print the effective configuration (defaults + --config + --set) and its hash."""
    text = yaml.safe_dump(to_dict(config), allow_unicode=True, sort_keys=False)
    for line in text.splitlines():  # YAML escapes control characters, not format ones such as bidi overrides
        click.echo(printable(line))
    click.echo(f"# config hash: {config.hash()}")


@cli.group()
def models() -> None:
    """Speech recognition models: list what is available, prepare the bundled one."""


@models.command("list")
@config_options("transcribe.model=large-v3")
def models_list(config: Config) -> None:
    """Show the configured model, the bundled model's state, and hub names that need internet."""
    from faster_whisper.utils import available_models

    from pipeline.lib.models import BUNDLED_NAME, BUNDLED_SHA256, bundled_dir

    cache = resolve_path(config.models.cache_dir)
    ready = (bundled_dir(cache) / "model.bin").is_file()
    click.echo(f"configured: {printable(config.transcribe.model)}")
    click.echo(f"bundled:    {BUNDLED_NAME} (Whisper base, sha256 {BUNDLED_SHA256[:12]}...) "
               f"{'ready in ' + printable(str(bundled_dir(cache))) if ready else 'not assembled yet (pipeline models prepare)'}")  # fmt: skip
    click.echo("local:      any CTranslate2 Whisper directory, given as a path")
    click.echo(f"hub:        {', '.join(available_models())} or an org/name repo id (need internet the first time)")


@models.command("prepare")
@click.argument("name", required=False)
@config_options("models.cache_dir=/data/models")
def models_prepare(name: str | None, config: Config) -> None:
    """Make NAME (default: the configured model) ready to load: assemble the bundled base, or download."""
    from pipeline.lib.models import resolve

    try:
        resolved = resolve(name or config.transcribe.model, resolve_path(config.models.cache_dir))
    except PipelineError as e:
        raise click.ClickException(printable(str(e))) from e
    click.echo(printable(f"{resolved.identity} -> {resolved.path}"))


@cli.command()
@click.option("--show", "show_key", required=True, help="Show profile key (configs/shows/<KEY>.yaml).")
@click.option("--name", required=True, help="The host's full name, as it should appear in records.")
@click.argument("clip", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_options("input.shows_dir=/srv/shows")
def enrol(show_key: str, name: str, clip: Path, config: Config) -> None:
    """Store a host's voiceprint from CLIP (about 10 s of their voice alone) for the show SHOW.

    Diarized speakers whose voice matches it (diarize.enrol_threshold) are named NAME in that show's records.
    """
    from pipeline.lib.audio import decode
    from pipeline.lib.diarization.diarizer import Diarizer
    from pipeline.lib.diarization.diarizer import embedding_model_identity
    from pipeline.files import sha256_file
    from pipeline.lib.diarization.voices import Voiceprint, save

    shows_dir = resolve_path(config.input.shows_dir)
    if not (shows_dir / f"{show_key}.yaml").is_file():
        raise click.UsageError(printable(f"no show profile {shows_dir / (show_key + '.yaml')}"))
    try:
        audio = decode(clip, config.ingest.sample_rate, config.ingest.truncation_tolerance, config.ingest.corrupt_below)
    except PipelineError as e:
        raise click.ClickException(printable(f"{clip}: {e}")) from e
    try:
        embedding = Diarizer(config.diarize).voiceprint(audio.samples, audio.sample_rate)
    except ValueError as e:  # no speech in the clip
        raise click.ClickException(printable(f"{clip}: {e}")) from e
    path = save(shows_dir, show_key, Voiceprint(
        name=name, model=embedding_model_identity(), clip_sha256=sha256_file(clip),
        clip_seconds=round(audio.duration, 2), embedding=[round(float(x), 6) for x in embedding],
    ))  # fmt: skip
    click.echo(printable(f"enrolled {name} for {show_key} from {audio.duration:.1f} s of audio -> {path}"))


def _db_option(func):
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        help="Index file (default: search.db_file in the output folder, i.e. OUTPUT_DIR/search.sqlite).",
    )(func)  # fmt: skip


@cli.command("index")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_db_option
@config_options("search.db_file=archive.sqlite")
def index_command(output_dir: Path, db_path: Path | None, config: Config) -> None:
    """Add OUTPUT_DIR/turns.jsonl to the search index (SQLite FTS5); only new or changed episodes are written.

    Episodes indexed from other output folders stay, so one index (--db) can gather many days of runs.
    """
    from pipeline.engine.output import TURNS_FILE
    from pipeline.search.index import build_index

    db = db_path or output_dir / config.search.db_file
    try:
        r = build_index(output_dir, db)
    except PipelineError as e:
        raise click.ClickException(printable(str(e))) from e
    click.echo(printable(f"indexed {output_dir / TURNS_FILE}: {r.added} added, {r.updated} updated, {r.unchanged} "
                         f"unchanged episodes ({r.turns_written} turns written) -> {db}: {r.episodes_total} episodes, "
                         f"{r.turns_total} turns"))  # fmt: skip


def _iso_date(value) -> str | None:
    return value.date().isoformat() if value else None


@cli.command("search")
@click.argument("query", required=False, default="")
@_db_option
@click.option(
    "-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUTPUT,
    show_default=True, help="Output folder whose index to search (ignored with --db).",
)  # fmt: skip
@click.option("--speaker", help="Only turns whose speaker id or name contains this (塚越 finds 塚越健司).")
@click.option("--entity", help="Only turns mentioning this entity: its canonical name or the surface, exactly.")
@click.option("--show", help="Only turns of programmes whose name contains this.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="Only episodes aired on or after YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="Only episodes aired on or before YYYY-MM-DD.")
@click.option(
    "--limit", type=click.IntRange(min=1, max=MAX_SEARCH_LIMIT), help="Most hits to print (default: search.limit).",
)  # fmt: skip
@click.option(
    "--reading", metavar="TERM", help="Only turns that sound like TERM, however ASR wrote it: 富士通 finds 藤ツ, 宗像市 "
    "むなかたし (kana is its own reading). Whole words; a TERM of search.reading_one_off_min_morae morae or more "
    "also one mora off (長谷川: ハセガハ). Ranked by reading score, then latest air date; with QUERY a turn must hold "
    "both.",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per hit: the turn record, score, snippet (with "
    "--reading also `reading`: the text that matched, its key, the term's key, score, span).",
)  # fmt: skip
@config_options("search.snippet_chars=60")
def search_command(
    query: str, db_path: Path | None, output_dir: Path, speaker: str | None, entity: str | None, show: str | None,
    since, until, limit: int | None, reading: str | None, as_json: bool, config: Config,
) -> None:  # fmt: skip
    """Search the turns indexed by `pipeline index` for QUERY (every space-separated term, as a substring), or by
    reading with --reading TERM.

    Hits are ranked by bm25 (--reading: by reading score, 1 for the same reading) and printed with show, air date,
    time (mm:ss, or turn and section for text), speaker and a snippet with the match marked (【like this】,
    search.highlight_*). Without QUERY or --reading, the filters alone list turns.
    """
    from pipeline.search.index import Query, position, search

    db = db_path or output_dir / config.search.db_file
    q = Query(text=query, speaker=speaker, entity=entity, show=show, since=_iso_date(since),
              until=_iso_date(until), limit=limit or config.search.limit, reading=reading)  # fmt: skip
    try:
        hits = search(db, q, config.search)
    except PipelineError as e:
        raise click.ClickException(printable(str(e))) from e
    # Transcript text, names and sections come from the input: printed so that no escape sequence acts.
    for rank, hit in enumerate(hits, 1):
        r = hit.record
        if as_json:
            found = {"reading": hit.reading} if hit.reading else {}
            click.echo(printable_json({**r, "score": hit.score, "snippet": hit.snippet, **found}))
            continue
        score = f"  score {hit.score:.2f}" if hit.score is not None else ""
        if hit.reading:  # the text's key, and the term's where they differ (one mora off)
            key, term_key = hit.reading["key"], hit.reading["term_key"]
            score += f"  reading {key}" + (f" ~ {term_key}" if key != term_key else "")
        click.echo(printable(f"{rank}. {r['show'] or '-'}  {r['air_date'] or '-'}  {position(r)}  "
                             f"{r['speaker_name'] or r['speaker']}{score}"))  # fmt: skip
        click.echo(f"   {printable(hit.snippet)}")
    if not hits and not as_json:
        click.echo("no hits", err=True)


@cli.command("export")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format", "target", type=click.Choice(["elasticsearch"]), default="elasticsearch", show_default=True,
    help="elasticsearch: _bulk NDJSON and the index settings/mapping (OpenSearch reads them too).",
)  # fmt: skip
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the files (default: search.export_dir, null = OUTPUT_DIR/export).",
)  # fmt: skip
@config_options("search.es_analyzer=kuromoji")
def export_command(output_dir: Path, target: str, out_dir: Path | None, config: Config) -> None:
    """Write OUTPUT_DIR/turns.jsonl as files a search cluster loads: bulk NDJSON and the index mapping.

    Document ids are the turn ids, and unchanged input gives byte-identical files. The mapping maps every field
    (dynamic: strict) and analyses text as search.es_analyzer says: bigram (the default) needs no plugin,
    kuromoji needs the analysis-kuromoji plugin on the cluster.
    """
    from pipeline.search.export import export_elasticsearch

    folder = out_dir or (resolve_path(config.search.export_dir) if config.search.export_dir else output_dir / "export")
    try:
        r = export_elasticsearch(output_dir, folder, config.search.index_name, config.search.es_analyzer)
    except PipelineError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{target}: {r.documents} documents -> {r.bulk_path}; index settings and mapping -> {r.mapping_path}")


@cli.command("report")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the site, replaced whole (default: report.folder in OUTPUT_DIR, i.e. OUTPUT_DIR/report).",
)  # fmt: skip
@config_options("report.keywords=10")
def report_command(output_dir: Path, out_dir: Path | None, config: Config) -> None:
    """Write a static HTML report of OUTPUT_DIR/episodes.jsonl: index.html and one page per episode.

    Each episode page has a speaker timeline, the transcript with entities and figures highlighted and the dedup
    removals folded where they were, the summary, and an audio player when the source audio is still reachable.
    No network is needed to view it.
    """
    from pipeline.report import INDEX_PAGE, write_report

    try:
        r = write_report(output_dir, out_dir or output_dir / config.report.folder, config.report)
    except PipelineError as e:
        raise click.ClickException(printable(str(e))) from e
    click.echo(printable(f"report: {r.episodes} episodes ({r.with_audio} with audio) -> {r.folder / INDEX_PAGE}"))


@cli.command("alerts")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--watchlist", help="Only this watchlist's alerts (its file name without .yaml).")
@click.option("--term", help="Only alerts of terms whose name contains this.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="Only episodes aired on or after YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help="Only episodes aired on or before YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert: the lines of alerts.jsonl.")
def alerts_command(output_dir: Path, watchlist: str | None, term: str | None, since, until, as_json: bool) -> None:
    """List the alerts of OUTPUT_DIR's last run: every mention of a watched term (configs/watchlists/*.yaml).

    Each alert gives the air date, show, time (or turn), speaker, the watchlist and term, how it matched (exact,
    alias, entity, or reading with its score and how ASR wrote it), and the sentence; a rerun aired again in the
    batch is listed once, with its other airings.
    """
    from pipeline.search.alerts import AlertQuery, alert_lines, list_alerts

    query = AlertQuery(watchlist=watchlist, term=term, since=_iso_date(since), until=_iso_date(until))
    try:
        alerts = list_alerts(output_dir, query)
    except PipelineError as e:
        raise click.ClickException(printable(str(e))) from e
    for alert in alerts:
        if as_json:
            click.echo(printable_json(to_dict(alert)))
            continue
        for line in alert_lines(alert):
            click.echo(printable(line))
    if not as_json:
        click.echo(f"{len(alerts)} alert(s)", err=True)


def main() -> None:
    cli(prog_name="pipeline")
