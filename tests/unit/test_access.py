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


def test_visitor_tokens_are_random_and_recognised():
    from compression.access import is_visitor_token, new_visitor_token

    tokens = {new_visitor_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(is_visitor_token(t) for t in tokens)


@pytest.mark.parametrize(
    "value", [None, "", "short", "x" * 31, "x" * 65, "a" * 31 + ";", "../" * 12, 'a"; path=/' + "b" * 30, 42]
)
def test_malformed_visitor_cookies_are_not_tokens(value):
    from compression.access import is_visitor_token

    assert not is_visitor_token(value)


def test_visitor_name_is_a_stable_hash_that_does_not_reveal_the_token():
    from compression.access import new_visitor_token, visitor_name

    token = new_visitor_token()
    name = visitor_name(token)
    assert name == visitor_name(token)
    assert name != visitor_name(new_visitor_token())
    assert token not in name and name.startswith("v") and len(name) == 17


def test_wrong_presenter_keys_are_limited_per_guesser_and_age_out():
    from compression.access import KeyGuessLimiter

    limiter = KeyGuessLimiter(limit=3, window_s=60.0)
    for i in range(3):
        assert limiter.wait_s(["v1", "10.0.0.5"], now=float(i)) == 0.0
        limiter.record_wrong(["v1", "10.0.0.5"], now=float(i))
    assert limiter.wait_s(["v1", "10.0.0.5"], now=3.0) == 57.0  # the oldest wrong key (at 0 s) ages out at 60 s
    # A new cookie from the same address is still limited; another visitor elsewhere is not.
    assert limiter.wait_s(["v2", "10.0.0.5"], now=3.0) == 57.0
    assert limiter.wait_s(["v3", "10.0.0.9"], now=3.0) == 0.0
    assert limiter.wait_s(["v1", None], now=60.0) == 0.0  # aged out
    assert limiter.wait_s([None, ""], now=3.0) == 0.0  # no identity to count: never blocked by others


def test_the_limiter_forgets_the_least_recent_guessers_beyond_its_size():
    from compression.access import KeyGuessLimiter

    limiter = KeyGuessLimiter(limit=1, window_s=60.0, keep=2)
    limiter.record_wrong(["a"], now=0.0)
    limiter.record_wrong(["b"], now=0.0)
    limiter.record_wrong(["c"], now=0.0)
    assert limiter.wait_s(["a"], now=1.0) == 0.0
    assert limiter.wait_s(["c"], now=1.0) == 59.0


# Issue 20: a shared network address (a classroom NAT) must never lock the presenter out.
KEY = "the-presenter-key"
NAT = "203.0.113.7"


def test_seven_visitors_behind_one_address_do_not_lock_out_the_presenter():
    from compression.access import PresenterKeyGate

    gate = PresenterKeyGate()
    for learner in range(7):
        for i in range(5):
            assert not gate.check(f"guess-{i}", KEY, f"v{learner}", NAT, now=float(i)).accepted
    check = gate.check(KEY, KEY, "v-presenter", NAT, now=10.0)
    assert check.accepted and check.message_key is None
    # A newcomer's wrong key from that address is only counted (35 is far below the backstop), not refused.
    assert gate.check("oops", KEY, "v-newcomer", NAT, now=10.0).refused_by is None


def test_the_right_key_works_after_the_visitor_used_up_their_wrong_guesses():
    from compression.access import PresenterKeyGate

    gate = PresenterKeyGate()
    for i in range(5):
        gate.check(f"guess-{i}", KEY, "v1", NAT, now=float(i))
    assert gate.check("guess-5", KEY, "v1", NAT, now=5.0).refused_by == "browser"
    assert gate.check(KEY, KEY, "v1", NAT, now=6.0).accepted


def test_wrong_guesses_past_the_browser_limit_are_refused_with_the_browser_message():
    from compression.access import PresenterKeyGate
    from compression.i18n import t

    gate = PresenterKeyGate(per_visitor=5, per_address=200, window_s=300.0)
    for i in range(5):
        check = gate.check(f"guess-{i}", KEY, "v1", NAT, now=float(i))
        assert not check.accepted and check.refused_by is None  # wrong, counted, not refused
    check = gate.check("guess-5", KEY, "v1", NAT, now=10.0)
    assert not check.accepted and check.refused_by == "browser" and check.wait_s == 290.0
    assert "this browser" in t(check.message_key, "en", seconds=290)
    assert "浏览器" in t(check.message_key, "zh", seconds=290)
    # Another browser on the same address may still guess.
    assert gate.check("guess-x", KEY, "v2", NAT, now=10.0).refused_by is None


def test_the_address_backstop_still_refuses_wrong_guesses_after_its_higher_limit():
    from compression.access import PresenterKeyGate
    from compression.i18n import t

    gate = PresenterKeyGate(per_visitor=5, per_address=200, window_s=300.0)
    for i in range(200):  # a script that drops its cookie: a new visitor every guess
        assert gate.check(f"guess-{i}", KEY, f"v{i}", NAT, now=1.0).refused_by is None
    check = gate.check("guess-200", KEY, "v-fresh", NAT, now=2.0)
    assert not check.accepted and check.refused_by == "network" and check.wait_s == 299.0
    assert "this network" in t(check.message_key, "en", seconds=299)
    assert "网络" in t(check.message_key, "zh", seconds=299)
    assert gate.check("guess-y", KEY, "v-elsewhere", "198.51.100.1", now=2.0).refused_by is None
    assert gate.check(KEY, KEY, "v-fresh", NAT, now=2.0).accepted  # the right key still works
    assert gate.check("guess-z", KEY, "v-fresh", NAT, now=301.0).refused_by is None  # aged out


def test_both_refusal_messages_exist_in_both_languages_with_the_same_placeholder():
    from compression.access import KeyCheck
    from compression.i18n import t

    for limit in ("browser", "network"):
        key = KeyCheck(accepted=False, refused_by=limit, wait_s=1.0).message_key
        for lang in ("en", "zh"):
            assert "42" in t(key, lang, seconds=42)
    assert KeyCheck(accepted=False).message_key is None


def test_presenter_mode_is_kept_for_the_browser_until_it_leaves_expires_or_the_key_changes():
    from compression.access import PresenterGrants

    grants = PresenterGrants(ttl_s=100.0)
    assert not grants.holds("v1", "key", now=0.0)
    grants.grant("v1", "key", now=0.0)
    assert grants.holds("v1", "key", now=50.0)  # a reload, a new tab: the same visitor
    assert not grants.holds("v2", "key", now=50.0)  # another browser
    assert not grants.holds("v1", "other key", now=50.0)  # the server's key changed: revoked
    assert not grants.holds("v1", "key", now=51.0)  # ... for good
    grants.grant("v1", "key", now=60.0)
    assert not grants.holds("v1", "key", now=160.0)  # expired
    grants.grant("v1", "key", now=200.0)
    grants.revoke("v1")  # "Leave presenter mode"
    assert not grants.holds("v1", "key", now=201.0)
    assert not grants.holds(None, "key") and not grants.holds("v1", None)
