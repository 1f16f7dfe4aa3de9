"""Configuration: precedence (flags > env > .env > TOML > defaults) and one clear line per bad value."""

from __future__ import annotations

import pytest

from vibed.config import ConfigError, load_config, secrets_of


def load(tmp_path, *, flags=None, env=None, dotenv=None, toml=None):
    env_file = None
    config_file = tmp_path / "missing.toml"
    if dotenv is not None:
        env_file = tmp_path / ".env"
        env_file.write_text(dotenv)
    if toml is not None:
        config_file = tmp_path / "vibed.toml"
        config_file.write_text(toml)
        return load_config(flags, environ=env or {}, env_file=env_file, config_file=config_file)
    return load_config(flags, environ=env or {}, env_file=env_file, config_file=_empty(tmp_path))


def _empty(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path


def test_defaults_are_the_original_guide_s(tmp_path):
    config = load(tmp_path)
    assert config.port == 5006
    assert config.languages == ("ml", "hi", "ta")
    assert config.schedule == "*/10 * * * *"
    assert config.jiosaavn_base_url == "https://www.jiosaavn.com"
    assert config.spotify_api_url == "https://api.spotify.com"
    assert config.spotify_accounts_url == "https://accounts.spotify.com"
    assert config.database_url is None and config.redis_url is None
    assert config.page_cap == 3 and config.fetchers == 2 and not config.debug
    assert config.polling == "adaptive" and config.trace_clock is None


def test_each_layer_beats_the_one_below(tmp_path):
    toml = 'port = 7001\nlanguages = ["te"]\nschedule = "0 * * * *"\nfetchers = 3\n'
    dotenv = "PORT=7002\nVIBED_LANGUAGES=kn\nVIBED_SCHEDULE=*/5 * * * *\n"
    env = {"PORT": "7003", "VIBED_LANGUAGES": "bn"}
    flags = {"port": "7004"}
    config = load(tmp_path, flags=flags, env=env, dotenv=dotenv, toml=toml)
    assert config.port == 7004  # flag
    assert config.languages == ("bn",)  # environment over .env
    assert config.schedule == "*/5 * * * *"  # .env over TOML
    assert config.fetchers == 3  # TOML over default


def test_toml_accepts_a_vibed_table_and_env_style_keys(tmp_path):
    config = load(tmp_path, toml='[vibed]\nPORT = 7010\npage_cap = 5\n')
    assert (config.port, config.page_cap) == (7010, 5)


def test_debug_worker_star_turns_on_debug(tmp_path):
    assert load(tmp_path, env={"DEBUG": "worker:*"}).debug.enabled("worker:fetcher")
    assert not load(tmp_path, env={"DEBUG": ""}).debug


@pytest.mark.parametrize("value", ["express:*", "server:*,worker:*", "*", "maybe", "worker:*,-worker:writer"])
def test_debug_never_refuses_start_up(tmp_path, value):
    assert load(tmp_path, env={"DEBUG": value}).debug.text == value


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "abc"}, "PORT='abc' is not a port number: use a whole number from 0 to 65535"),
        ({"PORT": "70000"}, "PORT='70000' is out of range"),
        ({"DATABASE_URL": "mysql://u:pw@h/db"}, "DATABASE_URL='***' is not a postgresql:// URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL='***' is not a redis:// URL"),
        ({"VIBED_LANGUAGES": "ml,xx"}, "VIBED_LANGUAGES='ml,xx' has unknown language code 'xx': use codes from ml"),
        ({"VIBED_LANGUAGES": " , "}, "VIBED_LANGUAGES=' , ' names no language"),
        ({"VIBED_SCHEDULE": "every 10 minutes"}, "VIBED_SCHEDULE='every 10 minutes' is not a 5-field cron"),
        ({"VIBED_SCHEDULE": "61 * * * *"}, "is not a 5-field cron expression"),
        ({"JIOSAAVN_BASE_URL": "ftp://x"}, "JIOSAAVN_BASE_URL='ftp://x' is not an http(s) URL"),
        ({"VIBED_FETCHERS": "0"}, "VIBED_FETCHERS='0' is out of range: use a whole number from 1 to 64"),
        ({"VIBED_PAGE_CAP": "three"}, "VIBED_PAGE_CAP='three' is not a whole number"),
        ({"VIBED_SPOTIFY_MARKETS": "India"}, "is not a list of two-letter country codes"),
        ({"VIBED_SIMULATE": "perhaps"}, "VIBED_SIMULATE='perhaps' is not a boolean"),
        ({"SPOTIFY_CLIENT_ID": "abc"}, "SPOTIFY_CLIENT_SECRET is not set: Spotify needs both"),
        ({"VIBED_POLLING": "smart"}, "VIBED_POLLING='smart' is not a polling mode: use adaptive (the default) or cron"),
        ({"VIBED_TRACE_CLOCK": "fast"}, "VIBED_TRACE_CLOCK='fast' is not 'wall epoch,trace epoch,speed'"),
        ({"VIBED_TRACE_CLOCK": "1,2,0"}, "VIBED_TRACE_CLOCK='1,2,0' needs a speed above 0"),
    ],
)
def test_bad_values_name_the_key_the_value_and_the_fix(tmp_path, env, expected):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, env=env)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert "pw" not in message  # a secret value is never echoed


def test_bad_value_in_toml_says_where_it_came_from(tmp_path):
    with pytest.raises(ConfigError, match=r"PORT='x' is not a port number.*vibed.toml"):
        load(tmp_path, toml='port = "x"\n')


def test_unknown_toml_key_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'prot'; known keys: database_url"):
        load(tmp_path, toml="prot = 1\n")


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({}, environ={}, env_file=None, config_file=tmp_path / "nope.toml")


def test_secrets_are_not_in_repr_and_are_listed_for_masking(tmp_path):
    env = {"JWT_SECRET": "s3cr3t-value-long-enough-0123456789ab", "DATABASE_URL": "postgresql://u:hunter2@db/v",
           "SPOTIFY_CLIENT_ID": "cid", "SPOTIFY_CLIENT_SECRET": "csecret"}
    config = load(tmp_path, env=env)
    text = repr(config)
    for secret in ("s3cr3t-value-long-enough-0123456789ab", "hunter2", "csecret"):
        assert secret not in text
    assert {"s3cr3t-value-long-enough-0123456789ab", "hunter2", "csecret"} <= set(secrets_of(config))


def test_an_env_file_that_cannot_be_read_is_named_with_the_fix(tmp_path):
    unreadable = tmp_path / "env"
    unreadable.mkdir()  # reading a directory fails for root too, as a 0600 file fails for the service user
    with pytest.raises(ConfigError, match=r"env cannot be read .*make it readable by the user vibed runs as"):
        load_config({}, environ={}, env_file=unreadable, config_file="/dev/null")
