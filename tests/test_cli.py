"""The CLI as a user meets it: help for every command, exit codes, and the README documenting each command."""

import re

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import PROJECT_ROOT


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
    ok = CliRunner().invoke(cli, ["run", str(tmp_path / "good.txt"), "-o", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    assert "1 ok, 0 failed" in ok.output
    (tmp_path / "bad.srt").write_text("no cues here\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["run", str(tmp_path), "-o", str(tmp_path / "out")])
    assert bad.exit_code == 1
    assert "bad.srt" in bad.output and "no subtitle cues" in bad.output
    assert "1 ok, 1 failed" in bad.output


def test_schema_check_passes_on_the_committed_schema():
    result = CliRunner().invoke(cli, ["schema", "--check"])
    assert result.exit_code == 0, result.output
