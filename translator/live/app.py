"""The HTTPS receiver: Canvas POSTs one event per request; 202 only once it is on disk.

`POST <path>`: the raw body is read up to `max_body` (413 beyond). A compact JWS is verified
(`JwksCache`, hence `JwksVerifier`: RS256 only, `kid` from Instructure's JWKS, issuer allow-list,
`exp`/`nbf`, size limit; 401 with the reason otherwise, 503 when no keys can be had). Anything
else is refused (401 `unsigned`) unless `allow_unsigned`. The body is then spooled and fsynced
(group commit) and only then answered 202; a spool that cannot be written answers 503, and
Canvas delivers again later. Whether the event converts is the worker's business: a verified
event that does not ends in the rejects file, not in a 4xx. `GET /healthz`, `GET /metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..io.jws import JwsRejected
from ..io.readers import COMPACT_JWS
from .deliveries import Delivery
from .jwks_cache import FetchNeeded, JwksUnavailable
from .logs import log
from .service import Service


def build_app(service: Service) -> Starlette:
    settings, metrics, spool, jwks = service.settings, service.metrics, service.spool, service.jwks

    def refuse(status: int, reason: str, message: str) -> JSONResponse:
        metrics.refused.labels(reason).inc()
        log(logging.INFO, "delivery refused", status=status, reason=reason, detail=message)
        headers = {"Retry-After": "60"} if status == 503 else None
        return JSONResponse({"error": reason, "message": message}, status_code=status, headers=headers)

    async def receive(request: Request) -> Response:
        metrics.received.labels("https").inc()
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_body:
            return refuse(413, "too-large", f"the body is over {settings.max_body:,} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body:
                return refuse(413, "too-large", f"the body is over {settings.max_body:,} bytes")
        text = body.strip().decode("ascii", "replace")
        signed = bool(COMPACT_JWS.match(text))
        if signed:
            try:
                try:
                    jwks.event(text, fetch=False)
                except FetchNeeded:
                    await run_in_threadpool(jwks.event, text)
            except JwsRejected as exc:
                return refuse(401, exc.rule, str(exc))
            except JwksUnavailable as exc:
                return refuse(503, "jwks-unavailable", str(exc))
            metrics.verified.inc()
        elif not settings.allow_unsigned:
            return refuse(401, "unsigned", "only signed payloads (compact JWS, RS256) are accepted")
        client = request.client
        source = f"https:{client.host}:{client.port}" if client else "https"
        delivery = Delivery("https", source, bytes(body), signed=signed, received=time.time())
        try:
            await asyncio.wrap_future(spool.append(delivery.encode()))
        except OSError as exc:
            log(logging.ERROR, "spool write failed; refusing deliveries", error=str(exc))
            return refuse(503, "spool-unavailable", f"the event could not be stored: {exc.strerror or exc}")
        metrics.spooled.labels("https").inc()
        return JSONResponse({"status": "accepted"}, status_code=202)

    async def healthz(request: Request) -> Response:
        if not service.healthy():
            return JSONResponse({"status": "failing"}, status_code=503)
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

    routes = [
        Route(settings.path, receive, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
