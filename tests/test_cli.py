"""The CLI as a user meets it: help for every command, exit codes, and the README documenting each command."""

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import PROJECT_ROOT, load_config
from pipeline.files import read_jsonl

# The entities stage loads GiNZA; the CLI tests below are about the engine, so they leave it off to stay fast.
NO_NER = ["--set", "entities.enabled=false"]


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path, command
        if hasattr(command, "commands"):
            yield from _commands(command, path)


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = dict(COMMANDS)[path]
    assert command.help and len(command.help) > 20
    for param in command.params:
        if param.name not in ("help",) and getattr(param, "help", None) is None and param.param_type_name == "option":
            pytest.fail(f"option {param.name} of {' '.join(path)} has no help text")


GROUPS = [(), *(p for p, c in COMMANDS if hasattr(c, "commands"))]
SET_COMMANDS = [p for p, c in COMMANDS if any(param.name == "overrides" for param in c.params)]
# The section of the --set example each command's help gives (commands not named here: any valid option).
SET_EXAMPLE_SECTION = {
    ("run",): "transcribe", ("models", "list"): "transcribe", ("models", "prepare"): "models", ("enrol",): "input",
    ("index",): "search", ("search",): "search", ("export",): "search", ("report",): "report",
}  # fmt: skip


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("group", GROUPS, ids=lambda p: " ".join(("pipeline", *p)))
def test_command_lists_show_every_summary_whole(group, width):
    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    listing = result.output.split("\nCommands:\n", 1)[1]
    assert "..." not in listing  # click's mark of a summary cut to the terminal's width
    joined = "".join(listing.split())  # as wrapped: compared without the line breaks
    for name, command in (dict(COMMANDS)[group] if group else cli).commands.items():
        first = command.help.split("\n\n")[0]
        sentence = re.match(r"(.+?\.)(\s+[^a-z]|$)", " ".join(first.split())).group(1)
        assert f"{name}{''.join(sentence.split())}" in joined, name


def test_run_help_ends_with_examples_of_its_own_options():
    output = CliRunner().invoke(cli, ["run", "--help"]).output
    examples = [line.strip() for line in output.split("Examples:", 1)[1].splitlines() if line.strip()]
    assert len(examples) >= 3 and all(line.startswith("pipeline run ") for line in examples)
    options = {opt for param in cli.commands["run"].params for opt in (*param.opts, *param.secondary_opts)}
    for line in examples:
        words = line.split("#")[0].split()
        assert {w for w in words if w.startswith("-")} <= options, line
        for i, word in enumerate(words[:-1]):
            if word == "--set":
                load_config(overrides=[words[i + 1]])  # a real option with a valid value
    assert any("--set" in line for line in examples) and any("-o" in line.split() for line in examples)


@pytest.mark.parametrize("path", SET_COMMANDS, ids=" ".join)
def test_set_help_gives_an_example_that_suits_the_command(path):
    output = CliRunner().invoke(cli, [*path, "--help"]).output
    (example,) = re.findall(r"e\.g\.\s+--set\s+(\S+)", output)
    load_config(overrides=[example])  # a real option with a valid value
    if section := SET_EXAMPLE_SECTION.get(path):
        assert example.startswith(f"{section}."), example
    elif path != ("run",):
        assert not example.startswith("transcribe."), example


def test_export_needs_no_format(tmp_path):
    """--format has one choice, so it is the default."""
    record = {
        "schema_version": "1.5", "id": "a.txt#0", "episode_id": "a.txt", "turn": 0, "speaker": "佐藤",
        "speaker_name": None, "speaker_role": None, "start": None, "end": None, "text": "値上げの話です。",
        "section": None, "show": None, "station": None, "air_date": "2024-03-13", "source": "a.txt",
        "entities": [], "figures": [],
    }  # fmt: skip
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "turns.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("elasticsearch: 1 documents")
    assert "[default: elasticsearch]" in CliRunner().invoke(cli, ["export", "--help"]).output


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_readme_documents_every_command(path):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"pipeline {' '.join(path)}\b", readme), f"README.md does not mention `pipeline {' '.join(path)}`"


def test_bad_override_is_a_usage_error():
    result = CliRunner().invoke(cli, ["config", "--set", "transcribe.beam_sise=3"])
    assert result.exit_code == 2
    assert "unknown key" in result.output


def test_config_shows_overrides_and_hash():
    result = CliRunner().invoke(cli, ["config", "--set", "transcribe.beam_size=3"])
    assert result.exit_code == 0
    assert "beam_size: 3" in result.output and "# config hash:" in result.output


def test_run_exit_codes(tmp_path):
    (tmp_path / "good.txt").write_text("佐藤:おはようございます。\n", encoding="utf-8")
    ok = CliRunner().invoke(cli, ["run", str(tmp_path / "good.txt"), "-o", str(tmp_path / "out"), *NO_NER])
    assert ok.exit_code == 0, ok.output
    assert "1 ok, 0 failed" in ok.output
    (tmp_path / "bad.srt").write_text("no cues here\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["run", str(tmp_path), "-o", str(tmp_path / "out"), *NO_NER])
    assert bad.exit_code == 1
    assert "bad.srt" in bad.output and "no subtitle cues" in bad.output
    assert "1 ok, 1 failed" in bad.output


def test_schema_check_passes_on_the_committed_schema():
    result = CliRunner().invoke(cli, ["schema", "--check"])
    assert result.exit_code == 0, result.output


def test_same_named_files_in_show_folders_stay_distinct_and_index_and_export_accept_them(tmp_path):
    """Per-show folders of date-named files: two records, each with its own text; a copy aired in another
    folder is removed from the later airing only, pointing at the first."""
    inbox = tmp_path / "in"
    for show, text in (("showA", "佐藤:今日は値上げの話です。\n"), ("showB", "山田:今日は桜の話です。\n")):
        (inbox / show).mkdir(parents=True)
        (inbox / show / "2024-03-13.txt").write_text(text, encoding="utf-8")
    ad = "広告:春の交通安全運動が始まります。ヘルメットを着けて自転車に乗りましょう。交通ルールを守りましょう。\n"
    for show in ("showA", "showB"):
        (inbox / show / "show.txt").write_text(ad, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(inbox), "-o", str(out), *NO_NER])
    assert result.exit_code == 0, result.output
    records = {r["episode_id"]: r for r in read_jsonl(out / "episodes.jsonl")}
    assert set(records) == {"showA/2024-03-13.txt", "showA/show.txt", "showB/2024-03-13.txt", "showB/show.txt"}
    assert "値上げ" in records["showA/2024-03-13.txt"]["text"] and "桜" in records["showB/2024-03-13.txt"]["text"]
    assert "交通安全" in records["showA/show.txt"]["text"]  # the first copy is kept
    removed = records["showB/show.txt"]["dedup"]["removals"]
    assert removed and {r["dup_of"]["episode_id"] for r in removed} == {"showA/show.txt"}

    assert CliRunner().invoke(cli, ["index", str(out)]).exit_code == 0
    exported = CliRunner().invoke(cli, ["export", "--format", "elasticsearch", str(out), "--out", str(tmp_path / "x")])
    assert exported.exit_code == 0, exported.output
    lines = (tmp_path / "x" / "broadcast-turns.bulk.ndjson").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["index"]["_id"] for line in lines[0::2]]
    assert len(ids) == len(set(ids)) >= 3


def test_a_bad_show_profile_is_refused_when_loaded_naming_file_and_key(tmp_path):
    shows = tmp_path / "shows"
    shutil.copytree(PROJECT_ROOT / "configs" / "shows", shows)
    (shows / "broken.yaml").write_text("name: Broken\nentities:\n  - {name: '', label: Person}\n", encoding="utf-8")
    (tmp_path / "broken_2024-03-13.txt").write_text("佐藤:おはよう。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "broken_2024-03-13.txt"), "-o", str(tmp_path / "out"),
                                      "--set", f"input.shows_dir={shows}"])  # fmt: skip
    assert result.exit_code == 2
    assert "broken.yaml" in result.output and "entities.0.name" in result.output
    assert not (tmp_path / "out" / "episodes.jsonl").exists()


def test_a_failure_after_the_file_stages_is_counted_in_the_tally_and_the_exit_code(tmp_path, monkeypatch):
    from pipeline.stages.figures import FiguresStage

    def broken(self, episode, job):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(FiguresStage, "run", broken)
    (tmp_path / "a.txt").write_text("佐藤:運賃は200円です。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "a.txt"), "-o", str(tmp_path / "out"), *NO_NER])
    assert result.exit_code == 1
    assert "FAIL  " in result.output and "figures: simulated bug" in result.output
    assert "0 ok, 1 failed" in result.output
    (record,) = read_jsonl(tmp_path / "out" / "episodes.jsonl")
    assert record["status"] == "error" and record["error"]["stage"] == "figures"


def test_run_prints_file_names_and_notes_terminal_safe(tmp_path):
    """A file name carrying an ANSI colour sequence and a newline: escaped, one status line per file."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "evil\x1b[31m\nname.txt").write_text("佐藤:おはようございます。\n", encoding="utf-8")
    (inbox / "bad\x1b]0;pwned\x07.srt").write_text("no cues here\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(inbox), "-o", str(tmp_path / "out"), *NO_NER])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "evil\\x1b[31m\\nname.txt" in result.output
    ok_lines = [line for line in result.output.splitlines() if line.startswith("ok    ")]
    assert len(ok_lines) == 1 and ok_lines[0].endswith("s")
