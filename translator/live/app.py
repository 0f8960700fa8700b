"""The HTTPS receiver: Canvas POSTs one event per request; 202 only once it is on disk.

`POST <path>`: the raw body is read up to `max_body` (413 beyond). A compact JWS is verified
(`JwksCache`, hence `JwksVerifier`: RS256 only, `kid` from Instructure's JWKS, issuer allow-list,
`exp`/`nbf`, size limit; 401 with the reason otherwise, 503 when no keys can be had). Anything
else is refused (401 `unsigned`) unless `allow_unsigned`. The body is then spooled and fsynced
(group commit, `commit.LoopCommit`) and only then answered 202; a spool that cannot be written
answers 503, and Canvas delivers again later. Whether the event converts is the worker's
business: a verified event that does not ends in the rejects file, not in a 4xx. `GET /healthz`,
`GET /metrics`.

The delivery path is a plain ASGI endpoint in front of the Starlette app: it reads the body from
`receive` and answers with two `send`s, without Starlette's middleware, router, Request and
Response objects, which cost about as much per request as everything else the receiver does but
the signature check. Everything else (the other routes, the lifespan) is Starlette's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..io.jws import JwsRejected
from ..io.readers import COMPACT_JWS
from .commit import LoopCommit
from .deliveries import Delivery
from .jwks_cache import FetchNeeded, JwksUnavailable
from .logs import log
from .service import Service

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = (b"content-type", b"application/json")


class Refused(Exception):
    """A delivery answered with a 4xx/5xx: its status, reason slug and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


async def answer(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    start = {"type": "http.response.start", "status": status, "headers": [JSON, (b"content-length", str(len(body)).encode()), *headers]}
    await send(start)
    await send({"type": "http.response.body", "body": body})


def build_app(service: Service) -> ASGIApp:
    settings, metrics, jwks = service.settings, service.metrics, service.jwks
    commit = LoopCommit(service.spool)
    received, spooled, verified = metrics.received.labels("https"), metrics.spooled.labels("https"), metrics.verified
    too_large = f"the body is over {settings.max_body:,} bytes"
    accepted = orjson.dumps({"status": "accepted"})
    not_allowed = orjson.dumps({"error": "method-not-allowed", "message": f"{settings.path} takes POST"})

    async def body_of(scope: Scope, receive: Receive) -> bytes | None:
        """The raw body (None if the client went away); `Refused` 413 past `max_body`."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > settings.max_body:
                raise Refused(413, "too-large", too_large)
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            body += message.get("body", b"")
            if len(body) > settings.max_body:
                raise Refused(413, "too-large", too_large)
            if not message.get("more_body", False):
                return body

    async def verify(text: str) -> None:
        try:
            try:
                jwks.event(text, fetch=False)
            except FetchNeeded:
                await run_in_threadpool(jwks.event, text)
        except JwsRejected as exc:
            raise Refused(401, exc.rule, str(exc)) from None
        except JwksUnavailable as exc:
            raise Refused(503, "jwks-unavailable", str(exc)) from None
        verified.inc()

    async def store(scope: Scope, body: bytes, signed: bool) -> None:
        client = scope.get("client")
        source = f"https:{client[0]}:{client[1]}" if client else "https"
        delivery = Delivery("https", source, body, signed=signed, received=time.time())
        try:
            await commit.append(delivery.encode())
        except OSError as exc:  # the spool logged it (once, not per request)
            raise Refused(503, "spool-unavailable", f"the event could not be stored: {exc.strerror or exc}") from None
        spooled.inc()

    async def deliver(scope: Scope, receive: Receive, send: Send) -> None:
        received.inc()
        try:
            body = await body_of(scope, receive)
            if body is None:
                return
            text = body.strip().decode("ascii", "replace")
            signed = COMPACT_JWS.match(text) is not None
            if signed:
                await verify(text)
            elif not settings.allow_unsigned:
                raise Refused(401, "unsigned", "only signed payloads (compact JWS, RS256) are accepted")
            await store(scope, body, signed)
        except Refused as refused:
            metrics.refused.labels(refused.reason).inc()
            log(logging.INFO, "delivery refused", status=refused.status, reason=refused.reason, detail=str(refused))
            retry = [(b"retry-after", b"60")] if refused.status == 503 else []
            await answer(send, refused.status, orjson.dumps({"error": refused.reason, "message": str(refused)}), *retry)
            return
        await answer(send, 202, accepted)

    async def healthz(request: Request) -> Response:
        problems = service.problems()
        if problems:
            return JSONResponse({"status": "failing", **problems}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            await run_in_threadpool(jwks.refresh)  # warm: the first delivery need not wait
        except JwksUnavailable as exc:
            log(logging.WARNING, "no JWKS yet; signed deliveries get 503 until it can be fetched", error=str(exc))
        yield
        await run_in_threadpool(service.stop)

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", prometheus, methods=["GET"])]
    rest = Starlette(routes=routes, lifespan=lifespan)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != settings.path:
            await rest(scope, receive, send)
        elif scope["method"] == "POST":
            await deliver(scope, receive, send)
        else:
            await answer(send, 405, not_allowed, (b"allow", b"POST"))

    return app
