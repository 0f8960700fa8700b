"""Delivery wrappers (SQS, Lambda, Kinesis, envelopes) and signed payloads (RS256 JWS against a JWKS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from translator.errors import TranslatorError
from translator.io.jws import CANVAS_ISSUER, JwksVerifier, JwsRejected, verified_event
from translator.io.unwrap import Item, is_unwrapped, unwrap

EVENT = {
    "metadata": {"event_name": "logged_in", "event_time": "2019-11-01T19:11:01.335Z", "user_id": "21070000000000001"},
    "body": {"redirect_url": "https://example.instructure.com/"},
}


def items(payload: Any, verifier: JwksVerifier | None = None) -> list[Item]:
    return list(unwrap(payload, verifier))


# -- wrappers -------------------------------------------------------------------------------


def test_a_plain_event_passes_through() -> None:
    assert items(EVENT) == [Item("", EVENT, EVENT)]


def test_sqs_message_body_is_the_event_and_attributes_fill_missing_metadata() -> None:
    body = {"metadata": {"user_id": "1"}, "body": {}}
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r",
        "Body": json.dumps(body),
        "MessageAttributes": {
            "event_name": {"DataType": "String", "StringValue": "logged_out"},
            "event_time": {"DataType": "String", "StringValue": "2019-11-01T19:11:01.335Z"},
        },
    }
    [item] = items(message)
    assert item.suffix == ""
    assert item.problem is None
    assert item.payload["metadata"] == {
        "user_id": "1",
        "event_name": "logged_out",
        "event_time": "2019-11-01T19:11:01.335Z",
    }
    assert item.original is message


def test_sqs_attributes_never_override_the_event() -> None:
    message = {
        "MessageId": "m",
        "Body": json.dumps(EVENT),
        "MessageAttributes": {"event_name": {"StringValue": "other"}},
    }
    [item] = items(message)
    assert item.payload == EVENT


def test_receive_message_response_gives_one_item_per_message() -> None:
    response = {"Messages": [{"MessageId": "a", "Body": json.dumps(EVENT)}, {"MessageId": "b", "Body": "{nope"}]}
    first, second = items(response)
    assert (first.suffix, first.payload) == ("/Messages/0", EVENT)
    assert second.suffix == "/Messages/1"
    assert second.problem is not None and second.problem.rule == "malformed-json" and second.problem.path == "/Body"


def test_lambda_sqs_batch_gives_one_item_per_record() -> None:
    batch = {
        "Records": [
            {"messageId": "1", "body": json.dumps(EVENT), "messageAttributes": {}, "eventSource": "aws:sqs"},
            {"messageId": "2", "body": '{"metadata": ', "eventSource": "aws:sqs", "attributes": {"SentTimestamp": "1"}},
            {
                "messageId": "3",
                "body": json.dumps({"metadata": {}, "body": {}}),
                "messageAttributes": {"event_name": {"stringValue": "logged_out", "dataType": "String"}},
                "eventSource": "aws:sqs",
            },
        ]
    }
    found = items(batch)
    assert [i.suffix for i in found] == ["/Records/0", "/Records/1", "/Records/2"]
    assert found[0].payload == EVENT
    assert found[1].problem is not None and found[1].problem.rule == "malformed-json"
    assert found[1].problem.path == "/body" and "line 1" in found[1].problem.message
    assert found[1].original == batch["Records"][1]
    assert found[2].payload["metadata"]["event_name"] == "logged_out"


def test_raw_kinesis_record_becomes_metadata_and_body() -> None:
    attributes = {"event_name": "logged_in", "event_time": "2019-11-01T19:11:01.335Z", "user_id": "21070000000000001"}
    record = {"attributes": attributes, "body": EVENT["body"]}
    [item] = items(record)
    assert item.payload == {"metadata": attributes, "body": EVENT["body"]}


def test_lambda_kinesis_batch_is_base64_of_the_raw_record() -> None:
    raw = {"attributes": EVENT["metadata"], "body": EVENT["body"]}
    data = base64.b64encode(json.dumps(raw).encode()).decode()
    batch = {"Records": [{"kinesis": {"data": data}, "eventSource": "aws:kinesis"}, {"kinesis": {"data": "%%%"}}]}
    good, bad = items(batch)
    assert good.payload == EVENT
    assert bad.problem is not None and bad.problem.rule == "undecodable"


def test_envelope_with_several_events_is_split_keeping_the_envelope_fields() -> None:
    events = [{"id": f"urn:uuid:{n}", "type": "Event", "action": "Created"} for n in range(3)]
    envelope = {
        "sensor": "http://x/",
        "sendTime": "2019-11-16T02:09:11.771Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": events,
    }
    found = items(envelope)
    assert [i.suffix for i in found] == ["/data/0", "/data/1", "/data/2"]
    for item, event in zip(found, events, strict=True):
        assert item.payload == {**envelope, "data": [event]}
    single = {**envelope, "data": events[:1]}
    assert items(single) == [Item("", single, single)]


def test_wrappers_nest() -> None:
    envelope = {"sensor": "s", "sendTime": "t", "dataVersion": "v", "data": [{"id": "1"}, {"id": "2"}]}
    batch = {"Records": [{"messageId": "1", "body": json.dumps(envelope), "eventSource": "aws:sqs"}]}
    assert [i.suffix for i in items(batch)] == ["/Records/0/data/0", "/Records/0/data/1"]


def test_anything_else_passes_through_for_conversion_to_judge() -> None:
    assert items([1, 2]) == [Item("", [1, 2], [1, 2])]
    assert items("hello") == [Item("", "hello", "hello")]


_SHAPES = [
    (EVENT, True), ({"metadata": {}}, True), ({"sensor": "s", "data": [{"id": "1"}]}, True), ({"data": "x"}, True), ({}, True),
    ({"metadata": "x", "body": {}}, False), ({"metadata": None, "body": {}}, False), ({"sensor": "s", "data": [{"id": "1"}, {"id": "2"}]}, False),
    ({"sensor": "s", "data": [], "extra": 1}, False), ({"Records": []}, False), ({"Messages": [EVENT]}, False),
    ({"MessageId": "1", "Body": json.dumps(EVENT)}, False), ({"attributes": {"event_name": "x"}, "body": {}}, False),
    ({"kinesis": {"data": ""}}, False), ([EVENT], False), ("a.b.c", False), (3, False), (None, False),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "alone"), _SHAPES)
def test_a_payload_told_unwrapped_is_what_unwrap_gives_alone(payload: Any, alone: bool) -> None:
    """The batch takes a payload `is_unwrapped` tells (a Canvas event, an Envelope of one event)
    as it is, without `unwrap`: the one item `unwrap` would give."""
    assert is_unwrapped(payload) is alone
    if alone:
        assert items(payload) == [Item("", payload, payload)]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["metadata", "body", "sensor", "sendTime", "dataVersion", "data", "Records", "other"]),
                       st.one_of(st.none(), st.text(max_size=3), st.lists(st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), max_size=3),
                                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)), max_size=5))  # fmt: skip
def test_is_unwrapped_agrees_with_unwrap_on_drawn_payloads(payload: dict[str, Any]) -> None:
    if is_unwrapped(payload):
        assert items(payload) == [Item("", payload, payload)]


# -- signed payloads --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": "2024-06", "use": "sig", "alg": "RS256"}, {"kty": "EC", "kid": "ignored"}]}


@pytest.fixture(scope="module")
def verifier(jwks: dict[str, Any]) -> JwksVerifier:
    return JwksVerifier(jwks)


def sign(claims: dict[str, Any], key: Any, kid: str | None = "2024-06", algorithm: str = "RS256") -> str:
    """Signed as Canvas signs: with its issuer (unless `claims` names another)."""
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode({"iss": CANVAS_ISSUER, **claims}, key, algorithm=algorithm, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def rejected(token: str, verifier: JwksVerifier) -> str:
    with pytest.raises(JwsRejected) as caught:
        verifier.claims(token)
    return caught.value.rule


def test_good_signature_gives_the_event_without_registered_claims(
    key: rsa.RSAPrivateKey, verifier: JwksVerifier
) -> None:
    now = int(time.time())
    token = sign({**EVENT, "iat": now, "exp": now + 300, "jti": "x"}, key)
    assert verifier.event(token) == EVENT
    [item] = items(token, verifier)
    assert (item.payload, item.problem, item.original) == (EVENT, None, token)


def test_forged_signature_is_refused(verifier: JwksVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert rejected(sign(EVENT, other), verifier) == "bad-signature"


def test_tampered_claims_are_refused(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    header, _, signature = sign(EVENT, key).split(".")
    tampered = {**EVENT, "body": {"redirect_url": "https://evil.example/"}}
    assert rejected(f"{header}.{b64(json.dumps(tampered).encode())}.{signature}", verifier) == "bad-signature"


def test_unknown_or_missing_kid_is_refused(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    assert rejected(sign(EVENT, key, kid="2099-01"), verifier) == "unknown-kid"
    assert rejected(sign(EVENT, key, kid=None), verifier) == "unknown-kid"


def test_expired_is_refused_beyond_the_leeway(key: rsa.RSAPrivateKey, jwks: dict[str, Any]) -> None:
    now = int(time.time())
    assert rejected(sign({**EVENT, "exp": now - 3600}, key), JwksVerifier(jwks)) == "expired"
    assert JwksVerifier(jwks, leeway=60).event(sign({**EVENT, "exp": now - 10}, key)) == EVENT
    assert rejected(sign({**EVENT, "exp": now - 10}, key), JwksVerifier(jwks, leeway=0)) == "expired"


def test_not_before_in_the_future_is_refused(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    assert rejected(sign({**EVENT, "nbf": int(time.time()) + 3600}, key), verifier) == "not-yet-valid"


def test_alg_none_is_refused(verifier: JwksVerifier) -> None:
    token = handmade({"alg": "none", "kid": "2024-06", "typ": "JWT"}, EVENT)
    assert token.endswith(".")
    assert rejected(token, verifier) == "bad-algorithm"
    [item] = items(token, verifier)
    assert item.payload is None and item.problem is not None and item.problem.rule == "bad-algorithm"


def test_hmac_with_the_public_key_as_secret_is_refused(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "2024-06", "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(EVENT).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert rejected(f"{signing_input}.{b64(signature)}", verifier) == "bad-algorithm"


def test_other_rsa_algorithms_are_refused_too(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    assert rejected(sign(EVENT, key, algorithm="RS512"), verifier) == "bad-algorithm"


def test_the_issuer_must_be_allowed(key: rsa.RSAPrivateKey, jwks: dict[str, Any], verifier: JwksVerifier) -> None:
    assert rejected(sign({**EVENT, "iss": "https://evil.example"}, key), verifier) == "bad-issuer"
    unsigned_iss = jwt.encode(EVENT, key, algorithm="RS256", headers={"kid": "2024-06"})
    assert rejected(unsigned_iss, verifier) == "bad-issuer"
    mine = JwksVerifier(jwks, issuers=["https://mine.example"])
    assert mine.event(sign({**EVENT, "iss": "https://mine.example"}, key)) == EVENT
    assert rejected(sign(EVENT, key), mine) == "bad-issuer"
    assert JwksVerifier(jwks, issuers=None).event(unsigned_iss) == EVENT


def test_a_token_over_the_size_limit_is_refused_before_decoding(key: rsa.RSAPrivateKey, jwks: dict[str, Any]) -> None:
    token = sign({**EVENT, "padding": "x" * 5000}, key)
    assert rejected(token, JwksVerifier(jwks, max_bytes=4096)) == "token-too-large"
    assert JwksVerifier(jwks, max_bytes=len(token)).event(token)["padding"] == "x" * 5000
    huge = "eyJh." + "A" * (2 << 20) + ".c2ln"  # 2 MB of junk: refused by size, not by parsing
    assert rejected(huge, JwksVerifier(jwks)) == "token-too-large"


def test_a_stored_verified_token_reads_back_after_its_key_and_time_are_gone(key: rsa.RSAPrivateKey) -> None:
    token = sign({**EVENT, "exp": int(time.time()) - 7200}, key, kid="retired")
    assert verified_event(token) == EVENT


def test_unreadable_token_is_malformed(verifier: JwksVerifier) -> None:
    assert rejected("eyJub3QganNvbg.eyJhIjoxfQ.c2ln", verifier) == "malformed-jws"


def test_without_a_jwks_a_signed_payload_cannot_be_verified(key: rsa.RSAPrivateKey) -> None:
    [item] = items(sign(EVENT, key))
    assert item.payload is None
    assert item.problem is not None and item.problem.rule == "jwt-not-verifiable"


def test_signed_payload_inside_an_sqs_body(key: rsa.RSAPrivateKey, verifier: JwksVerifier) -> None:
    message = {"MessageId": "m", "Body": sign(EVENT, key)}
    [item] = items(message, verifier)
    assert item.payload == EVENT


def test_a_jwks_must_hold_a_usable_signing_key(tmp_path: Path, jwks: dict[str, Any]) -> None:
    with pytest.raises(TranslatorError, match="no RSA signing key"):
        JwksVerifier({"keys": [{"kty": "EC", "kid": "x"}]})
    with pytest.raises(TranslatorError, match="keys"):
        JwksVerifier({"nope": []})
    with pytest.raises(TranslatorError, match="not a usable RSA key"):
        JwksVerifier({"keys": [{"kty": "RSA", "kid": "x", "n": "AA", "e": "AQAB"}]})
    broken = tmp_path / "jwks.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(TranslatorError, match="cannot read the JWKS"):
        JwksVerifier.from_file(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(jwks), encoding="utf-8")
    assert set(JwksVerifier.from_file(good).keys) == {"2024-06"}


def test_unsigned_events_need_no_pyjwt(tmp_path: Path) -> None:
    """PyJWT is an optional extra: only verifying signed payloads needs it."""
    script = (
        "import io, json, sys; sys.modules['jwt'] = None\n"
        "from translator.io.unwrap import unwrap\n"
        "from translator.io.jws import JwksVerifier\n"
        f"event = {EVENT!r}\n"
        "assert [i.payload for i in unwrap(event)] == [event]\n"
        "assert [i.problem.rule for i in unwrap('eyJh.eyJi.c2ln')] == ['jwt-not-verifiable']\n"
        "try:\n    JwksVerifier({'keys': []})\nexcept Exception as exc:\n    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "needs PyJWT" in done.stdout


def test_cli_issuer_allow_list_and_size_limit(tmp_path: Path, key: rsa.RSAPrivateKey, jwks: dict[str, Any]) -> None:
    from translator.cli import run

    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
    event = {**EVENT, "metadata": {**EVENT["metadata"], "hostname": "canvas.example.edu"}}
    tokens = tmp_path / "signed.jwt"
    tokens.write_text(f"{sign(event, key)}\n{sign({**event, 'iss': 'https://mine.example'}, key)}\n", encoding="utf-8")

    def reasons(*options: str) -> list[str]:
        rejects = tmp_path / "rejects.jsonl"
        argv = ["convert", "--to", "caliper", "-o", str(tmp_path / "out.jsonl"), "--rejects", str(rejects), "--jwks", str(jwks_file)]
        code = run([*argv, *options, str(tokens)], io.StringIO(), io.StringIO(), io.StringIO())
        found = [json.loads(line)["reason"] for line in rejects.read_text(encoding="utf-8").splitlines()]
        assert code == (1 if found else 0)
        return found

    assert reasons() == ["bad-issuer"]
    assert reasons("--jwt-issuer", "https://mine.example") == ["bad-issuer"]
    assert reasons("--jwt-issuer", "https://mine.example", "--jwt-issuer", CANVAS_ISSUER) == []
    assert reasons("--jwt-issuer", "*") == []
    assert reasons("--jwt-max-bytes", "100") == ["token-too-large", "token-too-large"]


# -- the plain path and jwt.decode agree ----------------------------------------------------

LEEWAY = 60
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
# Times at least 3 s away from the leeway's edges, so both verdicts, taken a moment apart, agree.
_offsets = st.integers(-7200, 7200).filter(lambda offset: abs(abs(offset) - LEEWAY) > 3)
_time_values = st.one_of(
    _offsets.map(lambda offset: ("offset", offset)),
    st.sampled_from([None, True, 1.5, "12", 2**70, -1, [1]]).map(lambda value: ("value", value)),
)
_headers = st.fixed_dictionaries(
    {"alg": st.just("RS256"), "kid": st.just("2024-06")},
    optional={"typ": st.just("JWT"), "crit": st.sampled_from([["b64"], ["exp"], "b64"]), "b64": st.booleans(), "jku": st.just("https://evil.example/jwks")},
)


def _mangle(segment: str, how: str) -> str:
    """One segment made padded, non-canonical (unused bits set), or not base64url at all."""
    if how == "padded":
        return segment + "=" * (-len(segment) % 4)
    if how == "unused-bits" and len(segment) % 4 in (2, 3):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]
    if how == "junk":
        return segment[:1] + "!" + segment[1:]
    return segment


def _pyjwt_verdict(token: str, key: rsa.RSAPrivateKey) -> Any:
    """What `jwt.decode` alone says: the claims, or the name of its exception."""
    try:
        claims = jwt.decode(
            token,
            key.public_key(),
            algorithms=["RS256"],
            leeway=LEEWAY,
            options={"verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False},
        )
    except jwt.InvalidTokenError as exc:
        return type(exc).__name__
    return claims if claims.get("iss") == CANVAS_ISSUER else "bad-issuer"


RULES = {
    "ExpiredSignatureError": "expired",
    "ImmatureSignatureError": "not-yet-valid",
    "InvalidSignatureError": "bad-signature",
    "bad-issuer": "bad-issuer",
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=_headers,
    times=st.dictionaries(st.sampled_from(["exp", "nbf", "iat"]), _time_values),
    issuer=st.sampled_from([CANVAS_ISSUER, "https://evil.example"]),
    forged=st.booleans(),
    mangled=st.tuples(st.sampled_from([0, 1, 2]), st.sampled_from(["none", "padded", "unused-bits", "junk"])),
)
def test_the_plain_path_and_jwt_decode_give_one_verdict(
    key: rsa.RSAPrivateKey, verifier: JwksVerifier, header: dict[str, Any], times: dict[str, Any], issuer: str, forged: bool, mangled: tuple[int, str]
) -> None:
    now = int(time.time())
    claims = {"iss": issuer, **EVENT, **{name: now + value if kind == "offset" else value for name, (kind, value) in times.items()}}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (_OTHER_KEY if forged else key).sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    segments = [*signing_input.split("."), b64(signature)]
    segments[mangled[0]] = _mangle(segments[mangled[0]], mangled[1])
    token = ".".join(segments)
    expected = _pyjwt_verdict(token, key)
    try:
        found: Any = verifier.claims(token)
    except JwsRejected as exc:
        found = exc.rule
    if isinstance(expected, dict):
        assert found == expected
    elif expected in RULES:
        assert found == RULES[expected]
    else:  # anything else PyJWT refuses is a token that cannot be read
        assert found == "malformed-jws", (expected, found)
