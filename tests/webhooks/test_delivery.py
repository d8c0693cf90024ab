"""The outbox: signed POSTs, retries with backoff on a controlled clock, failed after N attempts,
rows surviving a restart, graceful stop, and the worker end to end over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
import pytest
from plaid_refresh_client.models import DefaultUpdateWebhook

from plaid_refresh.webhooks.delivery import Delivery, RetryPolicy, WebhookOutbox, safe_url
from plaid_refresh.webhooks.signing import WebhookSigner, body_sha256, serialize_webhook
from plaid_refresh.webhooks.verification import WebhookVerifier
from tests.webhooks.conftest import CountingFetcher, FakeClock, example_payload

URL = "http://receiver.test/hooks"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Receiver:
    """A scripted receiver: answers from `script` in turn (an int status or an exception), then 200."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, Exception):
            raise step
        return httpx.Response(step)


def outbox_for(
    receiver: Receiver, signer: WebhookSigner, clock: FakeClock, path: Path | None = None, **policy: float
) -> WebhookOutbox:
    return WebhookOutbox(
        signer,
        path=path,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        clock=clock,
        transport=httpx.MockTransport(receiver),
    )


def only(outbox: WebhookOutbox) -> Delivery:
    (delivery,) = outbox.deliveries()
    return delivery


def test_delivers_spec_bytes_signed_with_a_verifiable_jwt(signer: WebhookSigner, clock: FakeClock) -> None:
    receiver = Receiver()
    outbox = outbox_for(receiver, signer, clock)
    payload = example_payload("DEFAULT_UPDATE")
    outbox.enqueue(URL, payload)
    assert asyncio.run(outbox.run_due()) == 1
    (request,) = receiver.requests
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == serialize_webhook(payload)
    webhook = WebhookVerifier(CountingFetcher(signer), clock=clock).verify(
        dict(request.headers), request.content
    )
    assert isinstance(webhook, DefaultUpdateWebhook)
    delivery = only(outbox)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, None)


def test_retry_schedule_backs_off_and_ends_failed_after_max_attempts(
    signer: WebhookSigner, clock: FakeClock
) -> None:
    receiver = Receiver(500, 500, 500, 500, 500)
    outbox = outbox_for(receiver, signer, clock, base_delay=30, factor=4, max_attempts=4)
    outbox.enqueue(URL, example_payload())
    start = clock()

    async def scenario() -> list[tuple[int, float, str]]:
        seen: list[tuple[int, float, str]] = []
        for wait in (0, 30, 120, 480):
            clock.advance(wait - 0.5 if wait else 0)
            assert await outbox.run_due() == (0 if wait else 1)  # not due half a second early
            clock.advance(0.5 if wait else 0)
            if wait:
                assert await outbox.run_due() == 1
            d = only(outbox)
            seen.append((d.attempts, d.next_attempt_at - start, d.status))
        clock.advance(10_000)
        assert await outbox.run_due() == 0  # failed rows are never retried
        return seen

    assert asyncio.run(scenario()) == [
        (1, 30.0, "pending"),
        (2, 30.0 + 120.0, "pending"),
        (3, 30.0 + 120.0 + 480.0, "pending"),
        (4, 30.0 + 120.0 + 480.0, "failed"),
    ]
    assert only(outbox).last_error == "HTTP 500"
    assert len(receiver.requests) == 4


def test_default_policy_is_plaids_schedule() -> None:
    policy = RetryPolicy()
    delays = [policy.delay_after(n) for n in range(1, policy.max_attempts)]
    assert delays == [30, 120, 480, 1920, 7680, 30720]
    assert sum(delays) < 24 * 3600  # every retry fits in Plaid's 24-hour window


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (301, "HTTP 301"),
        (404, "HTTP 404"),
        (503, "HTTP 503"),
        (httpx.ReadTimeout("slow"), "no answer within 10 s"),
        (httpx.ConnectTimeout("slow"), "no answer within 10 s"),
        (httpx.ConnectError("refused"), "connection failed (refused or unreachable)"),
        (httpx.RemoteProtocolError("garbage"), "RemoteProtocolError"),
    ],
)
def test_each_failure_kind_is_retried(
    signer: WebhookSigner, clock: FakeClock, answer: int | Exception, error: str
) -> None:
    receiver = Receiver(answer)
    outbox = outbox_for(receiver, signer, clock, base_delay=1, factor=2, max_attempts=3)
    outbox.enqueue(URL, example_payload())
    asyncio.run(outbox.run_due())
    first = only(outbox)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, error)
    clock.advance(1)
    asyncio.run(outbox.run_due())
    assert (only(outbox).status, only(outbox).attempts) == ("delivered", 2)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(signer: WebhookSigner, clock: FakeClock, status: int) -> None:
    outbox = outbox_for(Receiver(status), signer, clock)
    outbox.enqueue(URL, example_payload())
    asyncio.run(outbox.run_due())
    assert only(outbox).status == "delivered"


def test_connection_refused_on_a_real_socket(signer: WebhookSigner, clock: FakeClock) -> None:
    from contract_tests.webhooks.loopback import free_port

    outbox = WebhookOutbox(signer, clock=clock, policy=RetryPolicy(base_delay=1, max_attempts=2))
    outbox.enqueue(f"http://127.0.0.1:{free_port()}/hooks", example_payload())
    asyncio.run(outbox.run_due())
    assert only(outbox).last_error == "connection failed (refused or unreachable)"


def test_each_attempt_is_signed_afresh_with_the_same_body(signer: WebhookSigner, clock: FakeClock) -> None:
    """Retries carry a new iat (a 30-minute-old signature would be stale) over identical bytes,
    which is what lets a receiver deduplicate on the body hash."""
    receiver = Receiver(500)
    outbox = outbox_for(receiver, signer, clock, base_delay=1800, max_attempts=2)
    outbox.enqueue(URL, example_payload())
    asyncio.run(outbox.run_due())
    clock.advance(1800)
    asyncio.run(outbox.run_due())
    first, second = receiver.requests
    assert first.content == second.content
    iats = [
        jwt.decode(r.headers["Plaid-Verification"], options={"verify_signature": False})["iat"]
        for r in receiver.requests
    ]
    assert iats[1] - iats[0] == 1800
    verifier = WebhookVerifier(CountingFetcher(signer), clock=clock)
    assert isinstance(verifier.verify(dict(second.headers), second.content), DefaultUpdateWebhook)
    hashes = {
        jwt.decode(r.headers["Plaid-Verification"], options={"verify_signature": False})[
            "request_body_sha256"
        ]
        for r in receiver.requests
    }
    assert hashes == {body_sha256(first.content)}


def test_pending_rows_survive_an_outbox_restart(
    signer: WebhookSigner, clock: FakeClock, tmp_path: Path
) -> None:
    db = tmp_path / "outbox.sqlite3"
    down = Receiver(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    first = outbox_for(down, signer, clock, db, base_delay=5, max_attempts=5)
    ids = [first.add(URL, example_payload(code)) for code in ("SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE")]
    assert asyncio.run(first.run_due()) == 2  # both fail (receiver down)...
    first.close()  # ...and the process "dies"
    up = Receiver()
    second = outbox_for(up, signer, clock, db, base_delay=5, max_attempts=5)
    assert {d.id: d.status for d in second.deliveries()} == dict.fromkeys(ids, "pending")
    clock.advance(5)
    asyncio.run(second.run_due())
    assert {d.id: (d.status, d.attempts) for d in second.deliveries()} == {
        ids[0]: ("delivered", 2),
        ids[1]: ("delivered", 2),
    }
    assert sorted(r.content for r in up.requests) == sorted(
        serialize_webhook(example_payload(c)) for c in ("SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE")
    )
    second.close()


def test_stop_leaves_in_flight_deliveries_pending(signer: WebhookSigner, tmp_path: Path) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def hanging(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return httpx.Response(200)

    async def scenario() -> Delivery:
        outbox = WebhookOutbox(signer, path=tmp_path / "o.sqlite3", transport=httpx.MockTransport(hanging))
        await outbox.start()
        outbox.enqueue(URL, example_payload())
        await asyncio.wait_for(started.wait(), 5)
        await outbox.stop(grace=0.01)
        (delivery,) = outbox.deliveries()
        outbox.close()
        return delivery

    delivery = asyncio.run(scenario())
    assert (delivery.status, delivery.attempts) == ("pending", 0)  # not counted, resumes next start


def test_add_rejects_payloads_the_spec_forbids_and_non_http_urls(
    signer: WebhookSigner, clock: FakeClock
) -> None:
    outbox = outbox_for(Receiver(), signer, clock)
    with pytest.raises(ValueError, match="spec"):
        outbox.add(URL, {**example_payload(), "new_transactions": "three"})
    with pytest.raises(ValueError, match="http"):
        outbox.add("file:///etc/passwd", example_payload())
    assert outbox.deliveries() == []


def test_logs_and_reprs_hide_url_secrets(
    signer: WebhookSigner, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    url = "https://user:pw@hooks.example.com:8443/plaid?token=s3cr3t-token#frag"
    assert safe_url(url) == "https://hooks.example.com:8443/plaid"
    outbox = outbox_for(Receiver(500), signer, clock, max_attempts=1)
    with caplog.at_level(logging.INFO, logger="plaid_refresh.webhooks.delivery"):
        outbox.enqueue(url, example_payload())
        asyncio.run(outbox.run_due())
    assert "failed for good" in caplog.text
    for secret in ("s3cr3t-token", "pw@", signer.sign(b"")[:20]):
        assert secret not in caplog.text
        assert secret not in repr(only(outbox))


def test_the_worker_delivers_from_other_threads_with_retries_over_loopback(signer: WebhookSigner) -> None:
    """Real uvicorn receiver, real clock, tiny delays: enqueue from a foreign thread wakes the
    worker; two 503s then a 200 end as delivered after 3 attempts."""
    from contract_tests.webhooks.loopback import serve

    answers = [503, 503]
    bodies: list[bytes] = []

    async def app(
        scope: dict[str, object],
        receive: Callable[..., Awaitable[dict[str, object]]],
        send: Callable[..., Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        bodies.append(message.get("body", b""))  # type: ignore[arg-type]
        status = answers.pop(0) if answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def scenario(url: str) -> Delivery:
        outbox = WebhookOutbox(signer, policy=RetryPolicy(base_delay=0.01, factor=2, max_attempts=5))
        await outbox.start()
        worker_thread = threading.Thread(target=outbox.enqueue, args=(url, example_payload()))
        worker_thread.start()
        worker_thread.join(5)
        deadline = time.monotonic() + 10
        while outbox.deliveries("pending") or not outbox.deliveries():
            assert time.monotonic() < deadline, "delivery did not finish in time"
            await asyncio.sleep(0.01)
        await outbox.stop()
        (delivery,) = outbox.deliveries()
        outbox.close()
        return delivery

    with serve(app) as base:
        delivery = asyncio.run(scenario(f"{base}/hooks"))
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert len(bodies) == 3
    assert len(set(bodies)) == 1


def test_a_large_backlog_is_worked_through_in_batches(signer: WebhookSigner, clock: FakeClock) -> None:
    from plaid_refresh.webhooks.delivery import BATCH

    receiver = Receiver()
    outbox = outbox_for(receiver, signer, clock)
    for _ in range(BATCH + 44):
        outbox.enqueue(URL, example_payload())

    async def scenario() -> list[int]:
        return [await outbox.run_due() for _ in range(3)]

    assert asyncio.run(scenario()) == [BATCH, 44, 0]
    assert len(outbox.deliveries("delivered")) == BATCH + 44
    assert len(receiver.requests) == BATCH + 44
