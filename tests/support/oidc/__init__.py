"""A real OpenID provider shaped like a Keycloak realm, for the ``keycloak`` auth backend.

``server.mjs`` beside this file runs the certified npm package ``oidc-provider`` on a
free loopback port under ``/realms/<realm>`` (``.ci/services.d/oidc.sh`` installs Node.js
and runs ``npm ci`` here; a missing Node.js or package fails the test, never skips it).
Its tokens are RS256 JWTs with Keycloak's claims (``azp``, ``realm_access.roles``,
``resource_access.<client>.roles``, ``preferred_username``), from the ``client_credentials``
and ``password`` grants.

The test holds the realm's private keys (:class:`SigningKey`), so it can also sign tokens
the provider never would (expired, for another audience, ...), and it replaces the
published key set while the provider runs (:meth:`OidcProvider.rotate`). The provider
counts the discovery and JWKS requests it serves (:meth:`OidcProvider.stats`), and can be
stopped and started again on the same port (:meth:`OidcProvider.stop`, :meth:`start`).

A test module or conftest imports the fixture::

    from tests.support.oidc import oidc_provider_fixture  # noqa: F401

and an API on it takes ``auth_backends=("keycloak",)``, ``auth={"keycloak":
oidc_provider.settings()}``; ``oidc_provider.token(ROLE_USER["viewer"])`` is a viewer's token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.private_servers import free_port, stop_process

HERE = Path(__file__).parent
REALM = "vecron-test"
CLIENT_ID = "vecron"
#: Test fixtures, not secrets.
CLIENT_SECRET = "vecron-test-client-secret"
OTHER_CLIENT_ID = "other-app"
START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An RSA key pair of the realm; ``kid`` is its RFC 7638 thumbprint, as Keycloak's."""

    private: rsa.RSAPrivateKey
    kid: str
    use: str = "sig"

    @classmethod
    def generate(cls, *, use: str = "sig") -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = private.public_key().public_numbers()

        def b64(number: int) -> str:
            raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        canonical = json.dumps(
            {"e": b64(public.e), "kty": "RSA", "n": b64(public.n)}, separators=(",", ":")
        )
        digest = hashlib.sha256(canonical.encode()).digest()
        return cls(private, base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), use)

    def private_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private))
        alg = "RS256" if self.use == "sig" else "RSA-OAEP"
        return {**jwk, "kid": self.kid, "alg": alg, "use": self.use}

    def public_jwk(self) -> dict[str, Any]:
        """The key as the realm publishes it."""
        private = {"d", "p", "q", "dp", "dq", "qi"}
        return {k: v for k, v in self.private_jwk().items() if k not in private}

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True, slots=True)
class RealmUser:
    username: str
    password: str
    realm_roles: tuple[str, ...] = ()
    client_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": self.password,
            "realm_roles": list(self.realm_roles),
            "client_roles": {name: list(roles) for name, roles in self.client_roles.items()},
        }


#: The realm's users (test fixtures): realm roles, and client roles of ``vecron``.
USERS = (
    RealmUser("alice", "alice-pw", ("scheduler-admins",)),
    RealmUser("olga", "olga-pw", (), {CLIENT_ID: ("run-jobs",)}),
    RealmUser("vera", "vera-pw", ("viewers",)),
    RealmUser("victor", "victor-pw", ("auditors",), {OTHER_CLIENT_ID: ("reader",)}),
    RealmUser("nobody", "nobody-pw"),
)
#: Keycloak roles -> vecron roles, as ``[auth.keycloak] roles`` (see :meth:`OidcProvider.settings`).
ROLE_MAPPING = {"scheduler-admins": "admin", "client:run-jobs": "operator", "viewers": "viewer"}
#: A realm user holding each built-in vecron role under :data:`ROLE_MAPPING`.
ROLE_USER = {"admin": "alice", "operator": "olga", "viewer": "vera"}


class OidcProvider:
    """One ``server.mjs`` process serving realm ``realm`` on ``port``."""

    def __init__(self, home: Path, *, realm: str = REALM, users: tuple[RealmUser, ...] = USERS):
        # .ci/services.d/oidc.sh installs Node.js 22 here when the machine's is older than 20.
        bundled = HERE / ".node" / "bin" / "node"
        node = str(bundled) if bundled.exists() else shutil.which("node")
        if node is None:
            pytest.fail("Node.js is not installed; run .ci/services.sh", pytrace=False)
        if not (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
            pytest.fail(
                f"oidc-provider is not installed in {HERE}; run .ci/services.sh "
                "(it runs `npm ci` there)",
                pytrace=False,
            )
        self.node = node
        self.home = home
        self.realm = realm
        self.users = users
        self.port = free_port()
        self.server = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.server}/realms/{realm}"
        self.keys: list[SigningKey] = [SigningKey.generate(), SigningKey.generate(use="enc")]
        self.log = home / "oidc-provider.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def signing_key(self) -> SigningKey:
        """The key the provider signs with now (the first signature key)."""
        return next(key for key in self.keys if key.use == "sig")

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """``[auth.keycloak]`` settings trusting this realm (``settings.auth["keycloak"]``)."""
        given: dict[str, Any] = {
            "server": self.server,
            "realm": self.realm,
            "client_id": CLIENT_ID,
            "roles": ROLE_MAPPING,
        }
        return given | overrides

    # -- process -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the provider (again, on the same port and with the current keys) and
        return once its discovery document answers."""
        config = self.home / "oidc-provider.json"
        config.write_text(json.dumps(self._config()))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.node, str(HERE / "server.mjs"), str(config), str(self.port)],
                cwd=HERE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the OpenID provider exited:\n{self.log.read_text()[-3000:]}")
            try:
                self.discovery()
                self._call("/admin/stats", method="DELETE")  # count the tests' requests only
                return
            except OSError:
                time.sleep(0.05)  # polling the state, not waiting a fixed time
        pytest.fail(f"the OpenID provider did not answer in {START_TIMEOUT} s")

    def stop(self) -> None:
        """Stop the provider: nothing listens on its port until :meth:`start`."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def pause(self) -> None:
        """Freeze the provider (SIGSTOP): connections are accepted, nothing answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def _config(self) -> dict[str, Any]:
        clients = [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "service_account": {"client_roles": {CLIENT_ID: ["run-jobs"]}},
            },
            {"client_id": OTHER_CLIENT_ID, "client_secret": CLIENT_SECRET, "service_account": {}},
        ]
        return {
            "realm": self.realm,
            "keys": [key.private_jwk() for key in self.keys],
            "clients": clients,
            "users": [user.config() for user in self.users],
        }

    # -- HTTP ------------------------------------------------------------------------------

    def _call(
        self,
        path: str,
        form: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
    ) -> Any:
        data = None
        headers = {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif body is not None:
            data, headers = json.dumps(body).encode(), {"content-type": "application/json"}
        request = urllib.request.Request(
            self.server + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def discovery(self) -> dict[str, Any]:
        document: dict[str, Any] = self._call(
            f"/realms/{self.realm}/.well-known/openid-configuration"
        )
        return document

    def jwks(self) -> dict[str, Any]:
        """The published key set (public keys), read the way a relying party reads it."""
        jwks: dict[str, Any] = self._call(self.discovery()["jwks_uri"].removeprefix(self.server))
        return jwks

    def stats(self) -> dict[str, int]:
        """Requests served since start: ``discovery_requests``, ``jwks_requests``, ..."""
        stats: dict[str, int] = self._call("/admin/stats")
        return stats

    def jwks_requests(self) -> int:
        return self.stats()["jwks_requests"]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """A new signing key (new ``kid``) signs from now on; the old one stays published
        (Keycloak's passive key) or, with ``keep_old=False``, is removed."""
        new = SigningKey.generate()
        kept = self.keys if keep_old else [key for key in self.keys if key.use != "sig"]
        self.keys = [new, *kept]
        if self.proc is not None:
            self._call("/admin/keys", body={"keys": [key.private_jwk() for key in self.keys]})
        return new

    def token(self, username: str, password: str | None = None, client_id: str = CLIENT_ID) -> str:
        """An access token for a realm user (the password grant)."""
        if password is None:
            password = next(user.password for user in self.users if user.username == username)
        return self._token(
            client_id, {"grant_type": "password", "username": username, "password": password}
        )

    def client_token(self, client_id: str = CLIENT_ID) -> str:
        """An access token for a client's service account (``client_credentials``)."""
        return self._token(client_id, {"grant_type": "client_credentials"})

    def _token(self, client_id: str, form: dict[str, str]) -> str:
        form |= {"client_id": client_id, "client_secret": CLIENT_SECRET}
        path = f"/realms/{self.realm}/protocol/openid-connect/token"
        try:
            answer = self._call(path, form=form)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"token request refused: {exc.read()!r}") from exc
        token: str = answer["access_token"]
        return token

    # -- hand-made tokens -----------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Keycloak-shaped claims of a valid access token for ``vecron``, now."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "f1d0c0de-0000-4000-8000-000000000001",
            "aud": ["account", CLIENT_ID],
            "azp": CLIENT_ID,
            "typ": "Bearer",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "preferred_username": "alice",
            "realm_access": {"roles": ["scheduler-admins"]},
            "resource_access": {},
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """``claims`` (default :meth:`claims`) signed RS256 with ``key`` (default the
        current signing key), header ``kid`` naming it unless ``headers`` says otherwise."""
        key = key or self.signing_key
        return jwt.encode(
            dict(claims if claims is not None else self.claims()),
            key.private,
            algorithm="RS256",
            headers={"kid": key.kid, "typ": "JWT", **(headers or {})},
        )


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture(tmp_path: Path) -> Iterator[OidcProvider]:
    """A started provider of its own for the test (it may stop, restart and rotate it)."""
    provider = OidcProvider(tmp_path)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
