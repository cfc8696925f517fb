"""Acceptance 3: forged and misused tokens against a real ``vecron up``, each answered 401
with problem JSON that holds no part of the token — on the ``db`` backend (HS256 access
tokens, rotating refresh tokens) and on the ``keycloak`` backend (RS256 tokens of a real
OpenID provider), both served together as a deployment would.

The forgeries are built with PyJWT. To show that each claim check holds on its own (not
only the signature), the db attacks sign with the real key, read from the database the
way the server does; the keycloak attacks sign with the realm's private key, which the
test's provider holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.api.real_server import Served, start_up, up_env
from tests.support.cluster import Cluster
from tests.support.oidc import CLIENT_ID, OidcProvider, RealmUser
from vecron import Runtime
from vecron.settings import Settings

pytestmark = pytest.mark.slow

PASSWORD = "attack-user-password"
#: Key ids an attacker would try as a path or a query.
HOSTILE_KIDS = ("../../etc/passwd", "../../../../dev/null", "' OR 1=1 --", "x" * 4096)


@dataclass
class Forgery:
    name: str
    token: str
    path: str = "/auth/me"
    method: str = "GET"
    body: Any = None
    #: The refusal's reason (``errors[].code``) where it tells this attack apart.
    reason: str | None = None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS by hand, for what PyJWT refuses to make (``alg: none`` with a ``kid``)."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT will not use a PEM public key as an HMAC secret."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered(token: str, **changes: Any) -> str:
    """``token`` with its payload changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


def parts_of(token: str) -> list[str]:
    """Pieces of ``token`` an answer must not echo: the whole and each long segment."""
    return [token, *(part for part in token.split(".") if len(part) >= 8)]


async def refused(served: Served, forgery: Forgery) -> str | None:
    """None when ``forgery`` is refused as it must be; else what went wrong."""
    headers = {"Authorization": f"Bearer {forgery.token}"}
    options: dict[str, Any] = {"headers": headers}
    if forgery.body is not None:
        options = {"json": forgery.body}  # a refresh token travels in the body
    status, answer_headers, body = await served.call(forgery.method, forgery.path, **options)
    shown = json.dumps(body) + json.dumps(answer_headers)
    if status != 401:
        return f"{forgery.name}: {status} {body}"
    if answer_headers.get("Content-Type", "").split(";")[0] != "application/problem+json":
        return f"{forgery.name}: answered {answer_headers.get('Content-Type')}"
    if not isinstance(body, dict) or body.get("status") != 401 or not body.get("code"):
        return f"{forgery.name}: not a problem document: {body}"
    codes = [error.get("code") for error in body.get("errors", [])]
    if forgery.reason is not None and forgery.reason not in codes:
        return f"{forgery.name}: refused for {codes}, not {forgery.reason}"
    if any(part in shown for part in parts_of(forgery.token)):
        return f"{forgery.name}: the answer quotes the token"
    return None


async def expect_all_refused(served: Served, forgeries: list[Forgery]) -> None:
    assert len({f.name for f in forgeries}) == len(forgeries)
    problems = [found for f in forgeries if (found := await refused(served, f)) is not None]
    assert not problems, "\n".join(problems)
    log = served.cluster.log("up")
    leaked = [f.name for f in forgeries if any(p in log for p in parts_of(f.token))]
    assert not leaked, f"the server log holds tokens of: {leaked}"


# -- db ---------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, oidc: OidcProvider) -> dict[str, str]:
    keycloak = {
        "server": oidc.server,
        "realm": oidc.realm,
        "client_id": CLIENT_ID,
        "roles": {"scheduler-admins": "admin"},
        "jwks_min_refetch_interval": 1,
    }
    return up_env(tmp_path, backends="keycloak,db", auth={"keycloak": keycloak})


@pytest.fixture
def oidc(tmp_path: Path) -> Iterator[OidcProvider]:
    users = (RealmUser("alice", "alice-pw", ("scheduler-admins",)), RealmUser("nobody", "nb-pw"))
    provider = OidcProvider(tmp_path, users=users)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
async def served(cluster: Cluster) -> Served:
    return await start_up(cluster)


async def signing_key(home: Path) -> tuple[str, bytes]:
    """The db backend's current signing key (kid, secret), read from the database and
    unsealed with the state folder's secret key, as the server itself does."""
    from vecron_auth_db.keys import SigningKeys

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{home}/vecron.db",
        storage_url=f"file://{home}/storage",
        state_dir=home / "state",
        auth_backends=(),
        port=0,
    )
    async with Runtime(settings) as rt:
        from vecron_auth_db.backend import utc_now

        keys = SigningKeys(rt.store, rt.secrets, clock=utc_now, keep_retired=timedelta(hours=1))
        await keys.start()
        key = await keys.current()
        return key.kid, key.secret


async def new_user(served: Served, admin: str, name: str, *roles: str) -> dict[str, Any]:
    user = {"name": name, "password": PASSWORD, "roles": list(roles)}
    status, _, body = await served.call("POST", "/users", token=admin, json=user)
    assert status == 201, body
    pair: dict[str, Any] = await served.login(name, PASSWORD)
    status, _, me = await served.call("GET", "/auth/me", token=pair["access_token"])
    assert status == 200 and me["subject"] == name, me
    return pair


async def test_db_tokens_forged_or_misused_are_401(served: Served, tmp_path: Path) -> None:
    admin_pair = await served.login()
    admin = admin_pair["access_token"]
    viewer = await new_user(served, admin, "vera", "viewer")
    doomed = await new_user(served, admin, "dora", "operator")
    disabled = await new_user(served, admin, "dina", "operator")
    status, _, body = await served.call("DELETE", "/users/dora", token=admin)
    assert status == 204, body
    status, _, body = await served.call("PUT", "/users/dina", token=admin, json={"disabled": True})
    assert status == 200, body
    revoked = await served.login("vera", PASSWORD)
    status, _, body = await served.call(
        "POST", "/auth/logout", json={"refresh_token": revoked["refresh_token"]}
    )
    assert status == 204, body
    rotated = await served.login("vera", PASSWORD)
    status, _, body = await served.call(
        "POST", "/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert status == 200, body  # the old refresh token is used up

    kid, secret = await signing_key(tmp_path)
    header = jwt.get_unverified_header(viewer["access_token"])
    assert header["kid"] == kid, "the key read is the one the server signs with"
    claims = jwt.decode(viewer["access_token"], options={"verify_signature": False})
    now = int(time.time())

    def signed(key_id: str = kid, **changes: Any) -> str:
        """The viewer's claims with ``changes`` (None drops a claim), really signed."""
        given = {**claims, "jti": uuid.uuid4().hex, **changes}
        given = {name: value for name, value in given.items() if value is not None}
        return jwt.encode(given, secret, algorithm="HS256", headers={"kid": key_id})

    assert (await served.call("GET", "/auth/me", token=signed()))[0] == 200, "the forge works"
    forgeries = [
        *(
            Forgery(f"alg {alg}", compact({"alg": alg, "kid": kid, "typ": "JWT"}, claims))
            for alg in ("none", "None", "NONE", "nOnE")
        ),
        Forgery(
            "expired",
            signed(iat=now - 7200, nbf=now - 7200, exp=now - 3600),
            reason="token-expired",
        ),
        Forgery("nbf in the future", signed(nbf=now + 3600), reason="token-not-yet-valid"),
        Forgery("wrong iss", signed(iss="https://evil.example.com")),
        Forgery("wrong aud", signed(aud="another-api")),
        Forgery("no exp", signed(exp=None)),
        Forgery("no sub", signed(sub=None)),
        Forgery("typ refresh", signed(typ="refresh")),
        Forgery("unknown kid", signed(key_id="k" * 16), reason="unknown-key"),
        *(Forgery(f"kid {k[:20]!r}", signed(key_id=k), reason="unknown-key") for k in HOSTILE_KIDS),
        Forgery(
            "another secret",
            jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"kid": kid}),
        ),
        Forgery("payload tampered: roles", tampered(viewer["access_token"], roles=["admin"])),
        Forgery("payload tampered: sub", tampered(viewer["access_token"], sub=claims["sub"][::-1])),
        Forgery("refresh token as access token", viewer["refresh_token"]),
        Forgery("deleted user", doomed["access_token"]),
        Forgery("disabled user", disabled["access_token"], reason="user-disabled"),
        Forgery(
            "revoked refresh token",
            revoked["refresh_token"],
            path="/auth/refresh",
            method="POST",
            body={"refresh_token": revoked["refresh_token"]},
        ),
        Forgery(
            "used refresh token",
            rotated["refresh_token"],
            path="/auth/refresh",
            method="POST",
            body={"refresh_token": rotated["refresh_token"]},
        ),
        Forgery(
            "deleted user's refresh token",
            doomed["refresh_token"],
            path="/auth/refresh",
            method="POST",
            body={"refresh_token": doomed["refresh_token"]},
        ),
    ]
    await expect_all_refused(served, forgeries)
    # Nothing above locked the real users out.
    assert (await served.call("GET", "/auth/me", token=viewer["access_token"]))[0] == 200
    assert (await served.call("GET", "/auth/me", token=admin))[0] == 200


# -- keycloak ---------------------------------------------------------------------------


async def test_keycloak_tokens_forged_are_401(served: Served, oidc: OidcProvider) -> None:
    real = oidc.token("alice")
    status, _, me = await served.call("GET", "/auth/me", token=real)
    assert status == 200 and me["roles"] == ["admin"], me
    key = oidc.signing_key
    now = int(time.time())
    claims = oidc.claims()
    assert (await served.call("GET", "/auth/me", token=oidc.sign(claims)))[0] == 200

    confusion_header = {"alg": "HS256", "kid": key.kid, "typ": "JWT"}
    forgeries = [
        *(
            Forgery(
                f"alg {alg}",
                compact({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims),
                reason="token-algorithm",
            )
            for alg in ("none", "None", "NONE", "nOnE")
        ),
        Forgery(
            "HS256 with the RSA public key",
            hs256(confusion_header, claims, key.public_pem()),
            reason="token-algorithm",
        ),
        Forgery(
            "expired",
            oidc.sign(oidc.claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600)),
            reason="token-expired",
        ),
        Forgery(
            "nbf in the future",
            oidc.sign(oidc.claims(nbf=now + 3600)),
            reason="token-not-yet-valid",
        ),
        Forgery("wrong iss", oidc.sign(oidc.claims(iss=f"{oidc.server}/realms/other"))),
        Forgery(
            "wrong aud",
            oidc.sign(oidc.claims(aud=["account"], azp="other-app")),
            reason="token-audience",
        ),
        Forgery(
            "unknown kid", oidc.sign(claims, headers={"kid": "k" * 43}), reason="token-unknown-key"
        ),
        *(
            Forgery(f"kid {k[:20]!r}", oidc.sign(claims, headers={"kid": k}), reason="token-key-id")
            for k in HOSTILE_KIDS
        ),
        Forgery(
            "payload tampered",
            tampered(oidc.token("nobody"), realm_access={"roles": ["scheduler-admins"]}),
        ),
        Forgery(
            "signed by another key under the realm's kid",
            oidc.sign(claims, key=type(key).generate(), headers={"kid": key.kid}),
        ),
    ]
    await expect_all_refused(served, forgeries)
    assert (await served.call("GET", "/auth/me", token=real))[0] == 200
