"""Who may call the background-task API: JWTs (HS256 or RS256), organisations, the admin role."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.web_server import WebServer
from tests.web.background.conftest import API, JWT_SECRET, bearer, token


@pytest.mark.parametrize(
    "authorization, detail",
    [
        (None, "send Authorization: Bearer <JWT>"),
        ("Basic dXNlcjpwYXNz", "send Authorization: Bearer <JWT>"),
        ("Bearer not-a-jwt", "the token is not valid"),
        (f"Bearer {token(ttl_s=-60)}", "the token has expired"),
        (
            f"Bearer {jwt.encode({'sub': 'u', 'org': 'o', 'exp': time.time() + 60}, 'x' * 32 + '-another')}",
            "the token is not valid: Signature verification failed",
        ),
        (
            f"Bearer {jwt.encode({'sub': 'u', 'exp': time.time() + 60}, JWT_SECRET)}",
            "the token has no 'org' claim",
        ),
        (f"Bearer {jwt.encode({'sub': 'u', 'org': 'o'}, JWT_SECRET)}", "the token has no 'exp' claim"),
        (
            f"Bearer {jwt.encode({'sub': 'u', 'org': 'o', 'exp': time.time() + 60}, None, 'none')}",
            "the token is not valid",
        ),
    ],
    ids=["missing", "basic", "malformed", "expired", "other-key", "no-org", "no-exp", "alg-none"],
)
def test_a_missing_malformed_or_expired_token_gets_a_401_json_error(
    api: httpx.Client, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=str(api.base_url), headers=headers) as anonymous:
        answer = anonymous.get("/tasks")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized" and answer.json()["detail"].startswith(detail)
    assert answer.headers["www-authenticate"] == "Bearer"


def test_stats_and_cleanup_need_the_admin_role(api: httpx.Client) -> None:
    assert api.get("/queue/stats").status_code == 403
    assert api.post("/queue/cleanup", params={"max_age_days": 1}).status_code == 403
    admin = bearer(admin=True)
    assert api.get("/queue/stats", headers=admin).status_code == 200
    assert api.post("/queue/cleanup", params={"max_age_days": 1}, headers=admin).json() == {"deleted": 0}


def test_rs256_tokens_are_checked_with_the_configured_public_key(
    settings, monkeypatch: pytest.MonkeyPatch, start_web_server: Callable[[], WebServer]
) -> None:
    from zapq.settings import get_settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("JWT_PUBLIC_KEY", public.decode())
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    server = start_web_server()
    claims = {"sub": "u1", "org": "org-rs", "exp": time.time() + 60}
    signed = jwt.encode(claims, key, algorithm="RS256")
    with httpx.Client(base_url=server.url + API) as client:
        good = client.get("/tasks", headers={"Authorization": f"Bearer {signed}"})
        # A token signed with the secret is refused: the server's algorithm, never the token's.
        hs256 = client.get("/tasks", headers=bearer())
    assert good.status_code == 200 and hs256.status_code == 401


def test_without_any_jwt_key_the_api_is_off(settings, start_web_server: Callable[[], WebServer]) -> None:
    server = start_web_server()
    answer = httpx.get(server.url + API + "/tasks", headers=bearer())
    assert (answer.status_code, answer.json()["error"]) == (503, "auth_not_configured")
