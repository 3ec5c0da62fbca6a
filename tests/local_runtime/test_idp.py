from __future__ import annotations

import json
from pathlib import Path

import jwt
from jwt import PyJWKSet

from local_runtime import token as token_cli
from local_runtime.idp import ISSUER, init_idp, mint_token


def test_minted_token_verifies_against_the_written_jwks(tmp_path: Path) -> None:
    raw = mint_token(
        "alice",
        email="a@example.com",
        email_verified=True,
        client_id="local-staff-console",
        state_dir=tmp_path,
    )
    jwks = json.loads((tmp_path / "idp" / "jwks.json").read_text())
    keys = PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(raw)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(raw, key.key, algorithms=["RS256"], audience="local-staff-console", issuer=ISSUER)
    assert claims["sub"] == "alice" and claims["client_id"] == "local-staff-console"
    assert claims["token_use"] == "id" and claims["email_verified"] is True
    assert "org_id" not in claims and "roles" not in claims  # memberships grant staff rights, never claims
    assert claims["exp"] > claims["iat"]


def test_key_is_reused_and_optional_claims_are_omitted(tmp_path: Path) -> None:
    _, kid1 = init_idp(tmp_path)
    pem = (tmp_path / "idp" / "private.pem").read_bytes()
    _, kid2 = init_idp(tmp_path)
    assert kid1 == kid2 and pem == (tmp_path / "idp" / "private.pem").read_bytes()
    claims = jwt.decode(mint_token("bob", state_dir=tmp_path), options={"verify_signature": False})
    assert "org_id" not in claims and "roles" not in claims and "email" not in claims


def test_token_cli_prints_a_token(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--sub", "alice", "--phone", "+447700900123", "--phone-verified"]
    assert token_cli.main([*args, "--client", "local-staff-console", "--state-dir", str(tmp_path)]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["phone_number"] == "+447700900123" and claims["phone_number_verified"] is True
    assert claims["aud"] == "local-staff-console" and claims["token_use"] == "id"


def test_token_cli_access_token_carries_no_identifiers(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert token_cli.main(["--sub", "alice", "--email", "a@x.example", "--access", "--state-dir", str(tmp_path)]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), options={"verify_signature": False})
    assert claims["token_use"] == "access" and "email" not in claims and "aud" not in claims


def test_token_cli_staff_membership_needs_the_running_runtime(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["--sub", "till", "--org", "org-1", "--role", "pos", "--state-dir", str(tmp_path)]

    assert token_cli.main(args) == 2
    assert "start `make run` first" in capsys.readouterr().err
