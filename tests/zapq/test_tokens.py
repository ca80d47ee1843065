"""`python -m zapq.tokens` signs a token the background API accepts, with the claims asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jwt

from web.background.auth import TokenVerifier

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_prints_a_token_for_the_organisation_user_and_role(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "JWT_SECRET": "cli-secret-" + "x" * 24, "ZAPQ_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "zapq.tokens", "--org", "org-9", "--user", "ana", "--admin", "--ttl", "60"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    principal = TokenVerifier(env["JWT_SECRET"], "HS256").verify(f"Bearer {token}")
    assert (principal.organization_id, principal.user_id, principal.admin) == ("org-9", "ana", True)
    claims = jwt.decode(token, env["JWT_SECRET"], algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


def test_without_a_secret_the_cli_says_where_to_get_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zapq.tokens", "--org", "o", "--user", "u"], cwd=ROOT, capture_output=True,
        env={"PATH": "/usr/bin:/bin", "ZAPQ_DATA_DIR": str(tmp_path)}, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "JWT_SECRET" in result.stderr
