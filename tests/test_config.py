import pytest

from pipeline.config import DEFAULT_CONFIG, load_config, load_profiles, match_profile, parse_override, resolve_path
from pipeline.errors import ConfigError


def test_defaults_load_and_every_section_is_typed():
    config = load_config()
    assert config.transcribe.model == "base"
    assert isinstance(config.transcribe.temperature, list)
    assert config.hash() == load_config(DEFAULT_CONFIG).hash()


def test_override_changes_only_its_section_hash():
    base = load_config()
    changed = load_config(overrides=["output.include_words=false"])
    assert changed.output.include_words is False
    assert changed.section_hash("transcribe") == base.section_hash("transcribe")
    assert changed.section_hash("output") != base.section_hash("output")
    assert changed.hash() != base.hash()


def test_user_config_file_is_partial(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text("transcribe:\n  beam_size: 2\n", encoding="utf-8")
    config = load_config(user)
    assert config.transcribe.beam_size == 2
    assert config.transcribe.model == "base"


@pytest.mark.parametrize(
    "override, message",
    [
        ("transcribe.beam_sise=1", "unknown key"),
        ("transcribe.beam_size=lots", "valid integer"),
        ("transcribe.vocabulary_as=everything", "Input should be 'hotwords'"),
        ("nonsense", "section.key=value"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=[override])


def test_parse_override_reads_yaml_values():
    assert parse_override("transcribe.language=ja") == {"transcribe": {"language": "ja"}}
    assert parse_override("transcribe.language=null") == {"transcribe": {"language": None}}
    assert parse_override("transcribe.temperature=[0.0, 0.5]") == {"transcribe": {"temperature": [0.0, 0.5]}}


def test_show_profiles_match_by_file_prefix(config):
    profiles = load_profiles(resolve_path(config.input.shows_dir))
    assert match_profile("asaradio_2024-03-12", profiles).name == "あさラジ"
    assert match_profile("OneMorning_2023-07-05_article", profiles).station == "TOKYO FM"
    assert match_profile("unknown_show_2024-01-01", profiles) is None


def test_a_yaml_error_in_an_override_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"override transcribe\.temperature: .*not valid YAML"):
        parse_override("transcribe.temperature=[0.0, {")


def test_a_show_profile_language_is_a_language_code(tmp_path):
    (tmp_path / "x.yaml").write_text("name: X\nlanguage: Japanese\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"x\.yaml: language"):
        load_profiles(tmp_path)
