"""SocorroClient against a real HTTP server on 127.0.0.1: retries, 429, timeouts, drops, redirects, tokens."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from conftest import FAST_RETRY, TOKEN, TOKEN_NO_DUMPS
from socorro_fake import FakeSocorro, Fault

from crashdesk.sync import AuthError, PermissionDenied, RateLimiter, Secret, ServerError, SocorroClient
from crashdesk.sync.client import RetryPolicy, normalize_base_url
from crashdesk.sync.errors import NotFound
from crashdesk.sync.ratelimit import default_rate_limit


def run(coro):
    return asyncio.run(coro)


async def _processed(server: FakeSocorro, crash_id: str, **kw):
    kw.setdefault("retry", FAST_RETRY)
    async with SocorroClient(server.url, **kw) as client:
        body = await client.processed_crash(crash_id)
        return body, client.stats


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "drop", "badjson", "deepjson"])
def test_transient_faults_are_retried(fake, crashes, kind):
    crash = crashes[0]
    fake.faults.append(Fault(kind, "ProcessedCrash", times=2))
    body, stats = run(_processed(fake, crash.crash_id))
    assert body["uuid"] == crash.crash_id
    assert body["signature"] == crash.processed["signature"]
    assert len(fake.requests_to("ProcessedCrash")) == 3
    assert stats.retries == 2


def test_json_nested_past_the_bound_is_refused_as_malformed(fake, crashes):
    """A hostile server's answer that parses but nests hundreds deep is never handed on: retried as malformed,
    then a typed error; an error body nested past Python's recursion limit still gives a typed error."""
    fake.faults.append(Fault("deepjson", "ProcessedCrash", times=None))
    with pytest.raises(ServerError) as info:
        run(_processed(fake, crashes[0].crash_id, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02)))
    assert "malformed JSON" in str(info.value)
    assert len(fake.requests_to("ProcessedCrash")) == 2
    fake.faults[:] = [Fault("deeperror", "ProcessedCrash", times=None)]
    with pytest.raises(ServerError) as info:
        run(_processed(fake, crashes[0].crash_id, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02)))
    assert "HTTP 400" in str(info.value)


def test_slow_response_times_out_and_is_retried(fake, crashes):
    fake.slow_seconds = 1.5
    fake.faults.append(Fault("slow", "ProcessedCrash", times=1))
    body, stats = run(_processed(fake, crashes[1].crash_id, timeout=0.4))
    assert body["uuid"] == crashes[1].crash_id
    assert stats.faults == {"timeout": 1}


def test_persistent_5xx_gives_up_with_a_typed_error(fake, crashes):
    fake.faults.append(Fault("500", "ProcessedCrash", times=None))
    with pytest.raises(ServerError) as info:
        run(_processed(fake, crashes[0].crash_id, retry=RetryPolicy(attempts=3, base=0.01, cap=0.02)))
    assert info.value.transient
    assert "gave up after 3 attempts" in str(info.value)
    assert len(fake.requests_to("ProcessedCrash")) == 3


@pytest.mark.parametrize("kind", ["429", "503"])
def test_retry_after_is_honoured(fake, crashes, kind):
    fake.faults.append(Fault(kind, "ProcessedCrash", times=1, retry_after="1"))
    stamps = []
    orig = fake.fault_for

    def spy(endpoint, crash_id):
        stamps.append(time.monotonic())
        return orig(endpoint, crash_id)

    fake.fault_for = spy
    body, stats = run(_processed(fake, crashes[0].crash_id))
    assert body["uuid"] == crashes[0].crash_id
    assert stats.retries == 1 and stats.rate_limited == (1 if kind == "429" else 0)
    # behaviour, not speed: the second try did not come before the server's Retry-After
    assert stamps[1] - stamps[0] >= 0.95


def test_429_without_retry_after_backs_off_and_recovers(fake, crashes):
    fake.faults.append(Fault("429", "*", times=3))
    body, stats = run(_processed(fake, crashes[0].crash_id))
    assert body["uuid"] == crashes[0].crash_id
    assert stats.rate_limited == 3


def test_rate_limited_forever_is_reported(fake, crashes):
    fake.faults.append(Fault("429", "*", times=None))
    policy = RetryPolicy(rate_limited_attempts=3, rate_limited_base=0.01, rate_limited_cap=0.02)
    with pytest.raises(ServerError, match="429"):
        run(_processed(fake, crashes[0].crash_id, retry=policy))


def test_token_goes_to_the_server_and_not_to_another_host_after_a_redirect(fake, crashes):
    """The first server redirects to `localhost` (another host name for another server): the token must
    reach the first and never the second."""
    other = FakeSocorro(list(crashes), host="127.0.0.1").start()
    try:
        fake.redirect_to = f"http://localhost:{other.port}"
        fake.faults.append(Fault("redirect", "ProcessedCrash", times=None))
        body, stats = run(_processed(fake, crashes[2].crash_id, token=TOKEN))
        assert body["uuid"] == crashes[2].crash_id
        assert stats.redirects == 1
        first = fake.requests_to("ProcessedCrash")
        second = other.requests_to("ProcessedCrash")
        assert [s.headers.get("auth-token") for s in first] == [TOKEN]
        assert len(second) == 1
        assert "auth-token" not in second[0].headers
        # anonymous there: the protected field is absent from what the other host returned
        assert "user_comments" not in body
    finally:
        other.stop()


def test_same_origin_redirect_keeps_the_token(fake, crashes):
    fake.redirect_to = fake.url
    fake.faults.append(Fault("redirect", "ProcessedCrash", times=1))
    body, stats = run(_processed(fake, crashes[3].crash_id, token=TOKEN))
    assert stats.redirects == 1
    assert [s.headers.get("auth-token") for s in fake.requests_to("ProcessedCrash")] == [TOKEN, TOKEN]
    assert body["user_comments"] == crashes[3].processed["user_comments"]  # view_pii through the token


def test_bad_and_expired_tokens_raise_auth_error(fake, crashes):
    with pytest.raises(AuthError, match="API Token not matched"):
        run(_processed(fake, crashes[0].crash_id, token="f" * 32))
    with pytest.raises(AuthError, match="expired"):
        run(_processed(fake, crashes[0].crash_id, token="0" * 32))


def test_dump_permission_and_missing_crash_are_typed(fake, crashes):
    async def go(token):
        async with SocorroClient(fake.url, token=token, retry=FAST_RETRY) as client:
            return await client.raw_dump(crashes[0].crash_id, "upload_file_minidump")

    with pytest.raises(PermissionDenied, match="View Raw Dumps"):
        run(go(TOKEN_NO_DUMPS))
    with pytest.raises(PermissionDenied):
        run(go(None))
    assert run(go(TOKEN)) == crashes[0].dumps["upload_file_minidump"]
    with pytest.raises(NotFound, match="CrashIDNotFound"):
        run(_processed(fake, "00000000-0000-4000-8000-000000261129"))


def test_client_side_rate_limit_keeps_every_window_under_budget(fake, crashes):
    """8 requests with a budget of 3 per 0.4 s: no 0.4 s window holds more than 3 request starts."""
    starts = []

    async def go():
        async with SocorroClient(fake.url, retry=FAST_RETRY, rate_limit=3, rate_period=0.4) as client:
            limiter = client.limiter
            acquire = limiter.acquire

            async def recording():
                waited = await acquire()
                starts.append(time.monotonic())
                return waited

            limiter.acquire = recording
            await asyncio.gather(*(client.processed_crash(c.crash_id) for c in crashes[:8]))
            return client.stats

    stats = run(go())
    assert len(starts) == 8 and len(fake.requests_to("ProcessedCrash")) == 8
    assert stats.waited_for_budget > 0
    for i, t in enumerate(starts):
        assert sum(1 for u in starts[i:] if u - t < 0.39) <= 3


def test_default_rate_limits():
    assert default_rate_limit("crash-stats.mozilla.org", has_token=False) <= 100
    assert 100 < default_rate_limit("crash-stats.mozilla.org", has_token=True) <= 1000
    assert default_rate_limit("127.0.0.1", has_token=True) is None
    assert default_rate_limit("socorro.example.com", has_token=False) is None


def test_rate_limiter_rejects_nonsense():
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_token_never_shows_in_repr_or_logs(fake, crashes, caplog):
    caplog.set_level(logging.DEBUG)
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) and TOKEN not in str(secret)
    fake.faults.append(Fault("500", "ProcessedCrash", times=1))
    fake.faults.append(Fault("429", "ProcessedCrash", times=1))
    run(_processed(fake, crashes[0].crash_id, token=secret))
    client = SocorroClient(fake.url, token=TOKEN)
    assert TOKEN not in repr(client)
    assert caplog.records, "the retries should have been logged"
    assert TOKEN not in caplog.text


def test_normalize_base_url():
    assert normalize_base_url("https://crash-stats.mozilla.org/api/") == "https://crash-stats.mozilla.org"
    assert normalize_base_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert normalize_base_url("https://example.com/socorro/") == "https://example.com/socorro"
    with pytest.raises(ValueError):
        normalize_base_url("ftp://example.com")
