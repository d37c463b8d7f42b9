"""The presenter key check and the loopback rule."""

import pytest

from compression.access import is_loopback, presenter_key_matches
from compression.config import Settings


def test_key_matches_only_the_configured_key():
    assert presenter_key_matches("s3cret", "s3cret")
    assert not presenter_key_matches("s3cre", "s3cret")
    assert not presenter_key_matches("s3cret ", "s3cret")
    assert not presenter_key_matches("", "s3cret")
    assert not presenter_key_matches(None, "s3cret")


def test_no_configured_key_matches_nothing():
    assert not presenter_key_matches("", None)
    assert not presenter_key_matches("anything", "")


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "[::1]"])
def test_loopback_addresses(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", [None, "", "10.0.0.5", "192.168.1.2", "::ffff:10.0.0.1", "localhost", "x"])
def test_other_addresses_are_not_loopback(address):
    assert not is_loopback(address)


def test_settings_never_print_the_key(monkeypatch):
    monkeypatch.setenv("COMPRESSION_LAB_PRESENTER_KEY", "hunter2-secret")
    settings = Settings.from_env()
    assert settings.presenter_key == "hunter2-secret"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
