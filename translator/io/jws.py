"""Verify the HTTPS "signed payload": a compact JWS, RS256, against a JWKS file.

What Canvas sends: with "Sign Payload" on, each HTTPS POST body is a compact JWS whose claims are
the live event itself (`{"metadata", "body"}`, or a Caliper envelope), signed RS256; the JWT header
names the signing key by `kid`, and Instructure publishes its keys as a JWKS, rotated monthly
(previous, current and next key). Sources: canvas-lms `doc/api/data_services/md/static/
data_service_setup.md` ("the event body will be a signed JWT with the live event data in the
claims ... match the kid in the JWT header to the relevant JWK").

What we check, with PyJWT (+ cryptography): the header's `alg` must be RS256 (`none`, HMAC and
anything else are refused before any key is touched, so a public key can never be used as an HMAC
secret); `kid` must name a key of the JWKS; the signature must verify; `exp`, `nbf` and `iat`,
when present, are checked with a small leeway; `iss` must be one of an allow-list (Canvas's
live-events issuer by default; `issuers=None` turns the check off); a token longer than
`max_bytes` is refused before it is decoded at all. Registered claims (`exp`, `iat`, ...) are
removed from the claims to leave the event. The token's `jku`/`x5u`/`jwk` headers are never
followed: keys come only from the JWKS we were given.

Two paths, one verdict. `jwt.decode` checks that every character of every segment is base64url
in Python, which costs several times the RSA check itself (a receiver's main cost). So a token
of the plain form Canvas sends (unpadded canonical base64url segments, no `crit`/`b64` header,
`exp`/`nbf`/`iat` absent or integers within the leeway) is checked without a loop in Python:
one regular expression, base64 decoding, the signature by PyJWT's own RS256 algorithm object
with the key parsed once per JWKS, the claims by `json` as PyJWT reads them. That path only ever accepts
a token or refuses its signature; anything else about a token (padding, a non-canonical
segment, a claim that is not a plain integer or is past its time) goes through `jwt.decode`,
which gives the verdict and its reason, so both paths agree on every token (a property test
holds them to it).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import TranslatorError

ALGORITHM = "RS256"
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
DEFAULT_LEEWAY = 60.0
# The issuer of Canvas's signed live events (as they are delivered, and as Canvas consumers configure it).
CANVAS_ISSUER = "https://live-events.canvas.instructure.com"
DEFAULT_ISSUERS: tuple[str, ...] = (CANVAS_ISSUER,)
# Beta and production keys of Canvas Data Services, as canvas-lms doc/api/data_services/md/static/
# data_service_setup.md gives them ("Beta and Production JWKs can be found here").
CANVAS_JWKS_URL = "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks"
# One live event is a few KB (Canvas caps its long texts at 8 KB); a token far larger is an attack.
DEFAULT_MAX_TOKEN_BYTES = 1 << 20
# The plain compact form: three unpadded base64url segments (PyJWT also reads padded ones).
_PLAIN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TIMES = ("exp", "nbf", "iat")


class JwsRejected(TranslatorError):
    """A signed payload that is not accepted; `rule` is the reason slug (`bad-signature`, ...)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _pyjwt() -> Any:
    """PyJWT, imported only when a JWKS is given: reading unsigned events does not need it."""
    try:
        import jwt
    except ImportError as exc:
        raise TranslatorError(
            "verifying signed payloads needs PyJWT with cryptography: pip install 'canvas-caliper-translator[jwt]'"
        ) from exc
    return jwt


class JwksVerifier:
    """The RSA signing keys of a JWKS, by `kid`; verifies tokens and returns the event they carry."""

    def __init__(
        self,
        jwks: Mapping[str, Any],
        *,
        leeway: float = DEFAULT_LEEWAY,
        issuers: Iterable[str] | None = DEFAULT_ISSUERS,
        max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    ) -> None:
        jwt = _pyjwt()
        keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(keys, list):
            raise TranslatorError('a JWKS is a JSON object with a "keys" array')
        self.leeway = leeway
        self.issuers = frozenset(issuers) if issuers is not None else None
        self.max_bytes = max_bytes
        self.keys: dict[str, Any] = {}
        self._rs256 = jwt.get_algorithm_by_name(ALGORITHM)
        for key in keys:
            if not isinstance(key, dict) or key.get("kty") != "RSA" or key.get("use", "sig") != "sig":
                continue
            if key.get("alg", ALGORITHM) != ALGORITHM or not isinstance(key.get("kid"), str):
                continue
            try:
                self.keys.setdefault(key["kid"], jwt.PyJWK(key, algorithm=ALGORITHM).key)
            except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
                raise TranslatorError(f"JWKS key {key['kid']!r} is not a usable RSA key: {exc}") from exc
        if not self.keys:
            raise TranslatorError("the JWKS holds no RSA signing key with a kid")

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        leeway: float = DEFAULT_LEEWAY,
        issuers: Iterable[str] | None = DEFAULT_ISSUERS,
        max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    ) -> JwksVerifier:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TranslatorError(f"cannot read the JWKS {path}: {exc}") from exc
        return cls(document, leeway=leeway, issuers=issuers, max_bytes=max_bytes)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; raises `JwsRejected` with the reason."""
        if len(token) > self.max_bytes:
            raise JwsRejected("token-too-large", f"the signed payload is {len(token):,} bytes; at most {self.max_bytes:,} are accepted")
        header = _segment(token, 0)
        algorithm = header.get("alg")
        if algorithm != ALGORITHM:
            raise JwsRejected("bad-algorithm", f"JWS algorithm {algorithm!r} is refused; only {ALGORITHM} is accepted")
        kid = header.get("kid")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise JwsRejected(
                "unknown-kid", f"JWS key id {kid!r} is not in the JWKS (known: {', '.join(sorted(self.keys))})"
            )
        claims = self._plain_claims(token, header, key, kid)
        if claims is None:
            claims = self._decoded_claims(token, key, kid)
        if self.issuers is not None and claims.get("iss") not in self.issuers:
            allowed = ", ".join(sorted(self.issuers)) or "none"
            raise JwsRejected("bad-issuer", f"the issuer {claims.get('iss')!r} is not allowed (allowed: {allowed})")
        return claims

    def _plain_claims(self, token: str, header: dict[str, Any], key: Any, kid: str) -> dict[str, Any] | None:
        """The claims of a token of the plain form whose signature verifies and whose times hold;
        None when `jwt.decode` is to judge it. A signature that does not verify is refused here."""
        if _PLAIN.fullmatch(token) is None or "crit" in header or "b64" in header:
            return None
        signing_input, _, signature_segment = token.rpartition(".")
        header_segment, _, payload_segment = signing_input.partition(".")
        payload, signature = _canonical(payload_segment), _canonical(signature_segment)
        if payload is None or signature is None or _canonical(header_segment) is None:
            return None
        if not self._rs256.verify(signing_input.encode("ascii"), key, signature):
            raise JwsRejected("bad-signature", f"the signature does not verify with key {kid!r}")
        try:
            claims = json.loads(payload)
        except (ValueError, RecursionError):
            return None
        if not isinstance(claims, dict):
            return None
        now = time.time()
        for name in _TIMES:
            value = claims.get(name)
            if value is None:
                if name in claims:
                    return None
                continue
            if type(value) is not int:
                return None
            if (value <= now - self.leeway) if name == "exp" else (value > now + self.leeway):
                return None
        return claims

    def _decoded_claims(self, token: str, key: Any, kid: str) -> dict[str, Any]:
        """`jwt.decode`'s verdict on `token`, as our reasons."""
        jwt = _pyjwt()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                leeway=self.leeway,
                options={"verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False},
            )
        except jwt.ExpiredSignatureError:
            raise JwsRejected("expired", "the signed payload has expired (exp is past)") from None
        except jwt.ImmatureSignatureError as exc:
            raise JwsRejected("not-yet-valid", f"the signed payload is not valid yet: {exc}") from None
        except jwt.InvalidSignatureError:
            raise JwsRejected("bad-signature", f"the signature does not verify with key {kid!r}") from None
        except jwt.InvalidTokenError as exc:
            raise JwsRejected("malformed-jws", f"the signed payload cannot be read: {exc}") from None
        return claims

    def event(self, token: str) -> dict[str, Any]:
        """The event a verified `token` carries: its claims without the registered JWT claims."""
        return _event(self.claims(token))


def verified_event(token: str) -> dict[str, Any]:
    """The event of a token that was verified before it was stored (read back from our own spool):
    read without checking again, since its key may have rotated out and its `exp` passed since."""
    return _event(_segment(token, 1))


def _segment(token: str, index: int) -> dict[str, Any]:
    """The JSON object in segment `index` of a compact JWS (0: the header, 1: the claims), read
    without verifying anything: the header only to choose the key (PyJWT reads and checks it again
    when it verifies; its own header reader would decode and check every segment a second time,
    which costs more than the RSA signature check), the claims only of a token verified before."""
    parts = token.split(".")
    try:
        segment = parts[index] if len(parts) == 3 else ""
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise JwsRejected("malformed-jws", f"not a readable compact JWS: {exc}") from None
    if not isinstance(value, dict):
        raise JwsRejected("malformed-jws", "not a readable compact JWS: its header and claims must be JSON objects")
    return value


def _canonical(segment: str) -> bytes | None:
    """The bytes of a base64url segment (of base64url characters only), or None when it is not
    the one canonical encoding of them (a length no encoding has, or unused bits that are not
    zero): PyJWT refuses those, and so they go to it for the reason."""
    rest = len(segment) % 4
    if rest == 1 or (rest and _BASE64URL.index(segment[-1]) & (0b1111 if rest == 2 else 0b11)):
        return None
    return base64.urlsafe_b64decode(segment + "=" * (4 - rest if rest else 0))


def _event(claims: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in claims.items() if name not in REGISTERED_CLAIMS}
