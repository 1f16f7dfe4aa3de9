"""A bad configuration stops ``vibed`` before anything starts: exit code 2 and one line naming the key."""

from __future__ import annotations

import ipaddress

import pytest

from vibed.cli import main
from vibed.config import ConfigError, load_config
from vibed.edge.guard import Guard


@pytest.fixture
def clean_cwd(tmp_path, monkeypatch):
    """No config/vibed.toml, no .env and none of the daemon's variables from the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "VIBED_TRUSTED_PROXIES", "PORT", "VIBED_ROLE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_bad_trusted_proxies_entry_stops_start_up_naming_the_key(clean_cwd, monkeypatch, capsys):
    monkeypatch.setenv("VIBED_TRUSTED_PROXIES", "10.0.0.1,proxy.internal")
    assert main(["run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("vibed: VIBED_TRUSTED_PROXIES='10.0.0.1,proxy.internal' has 'proxy.internal', which is not a "
                   "network: use e.g. 127.0.0.0/8,10.0.0.0/8 (from the environment)\n")


def test_a_bad_trusted_proxies_entry_in_toml_names_the_file(clean_cwd):
    path = clean_cwd / "vibed.toml"
    path.write_text('trusted_proxies = ["127.0.0.1", "10.0.0.0/33"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config({}, environ={}, env_file=None, config_file=path)
    assert str(caught.value) == (f"VIBED_TRUSTED_PROXIES='127.0.0.1,10.0.0.0/33' has '10.0.0.0/33', which is not "
                                 f"a network: use e.g. 127.0.0.0/8,10.0.0.0/8 (from {path})")


def test_trusted_proxies_take_addresses_and_networks_of_both_families(clean_cwd):
    config = load_config({}, environ={"VIBED_TRUSTED_PROXIES": " 10.1.2.3, 192.168.0.0/16 ,::1,2001:db8::/32"},
                         env_file=None, config_file=None)
    assert config.trusted_proxies == ("10.1.2.3/32", "192.168.0.0/16", "::1/128", "2001:db8::/32")
    assert Guard.from_config(config).trusted == (
        ipaddress.ip_network("10.1.2.3/32"), ipaddress.ip_network("192.168.0.0/16"),
        ipaddress.ip_network("::1/128"), ipaddress.ip_network("2001:db8::/32"))


def test_invalid_toml_is_one_line_with_the_parsers_position(clean_cwd, capsys):
    (clean_cwd / "broken.toml").write_text('port = 5006\nlanguages "ml"\n')
    assert main(["run", "--config", "broken.toml"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("vibed: broken.toml is not valid TOML: Expected '=' after a key in a key/value pair "
                   "(at line 2, column 11)\n")


def test_the_default_toml_file_is_read_and_checked_when_present(clean_cwd, capsys):
    (clean_cwd / "config").mkdir()
    (clean_cwd / "config" / "vibed.toml").write_bytes(b'[vibed]\nport = "\xff\xfe"\n')  # not UTF-8
    assert main(["token"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vibed: config/vibed.toml is not valid TOML: 'utf-8' codec can't decode byte 0xff")


def test_an_unreadable_toml_file_names_the_fix(clean_cwd, capsys):
    path = clean_cwd / "vibed.toml"
    path.mkdir()  # exists, but reading it fails like a file without permission (and as root too)
    assert main(["run", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (f"vibed: {path} cannot be read (Is a directory): make it readable by the "
                                       "user vibed runs as\n")


def test_a_role_without_database_url_and_serve_without_redis_are_refused(clean_cwd):
    with pytest.raises(ConfigError, match=r"^VIBED_ROLE=fetch needs DATABASE_URL: "):
        load_config({"role": "fetch"}, environ={}, env_file=None)
    with pytest.raises(ConfigError, match=r"^VIBED_ROLE=serve needs REDIS_URL: "):
        load_config({"role": "serve"}, environ={"DATABASE_URL": "postgresql://u@h/db"}, env_file=None)


def test_no_command_prints_the_help_and_exits_2(clean_cwd, capsys):
    assert main([]) == 2
    assert capsys.readouterr().out.startswith("usage: vibed [-h] [--version] COMMAND ...")


def test_an_unknown_argument_is_refused_by_the_parser(clean_cwd, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["token", "--colour"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == "vibed: unrecognized arguments: --colour (see `vibed --help`)\n"  # one line
