"""The ``db`` auth backend: bearer JWTs it issued itself, checked against its users."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vecron import (
    BUILTIN_ROLES,
    AuthBackend,
    AuthRequest,
    AuthServices,
    Database,
    Principal,
    Runtime,
    Unauthenticated,
)

from . import records
from .audit import Auditor
from .bootstrap import create_first_admin
from .config import DbAuthConfig, config_of
from .grants import ForgettingDatabase, Grants
from .keys import SigningKey, SigningKeys
from .passwords import Passwords
from .roles import RoleService
from .sessions import Sessions
from .tokens import AccessTokens, is_refresh_token, unverified_issuer
from .users import UserService
from .views import TokenPair


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    """The user and role services over one database, as the CLI and the API use them."""

    users: UserService
    roles: RoleService
    passwords: Passwords
    auditor: Auditor
    grants: Grants

    @classmethod
    def of(
        cls,
        config: DbAuthConfig,
        database: Database,
        auditor: Auditor,
        clock: Callable[[], datetime],
    ) -> Services:
        passwords = Passwords(config)
        grants = Grants(config.user_cache_seconds)
        changes = ForgettingDatabase(database, grants)
        return cls(
            users=UserService(changes, auditor, passwords, clock),
            roles=RoleService(changes, auditor, clock),
            passwords=passwords,
            auditor=auditor,
            grants=grants,
        )

    @classmethod
    def over(cls, runtime: Runtime) -> Services:
        """The services over an opened runtime's database, with settings ``[auth.db]``
        (the CLI's, and the API's when the backend is not enabled)."""
        auditor = Auditor(runtime.store.add_audit, utc_now)
        return cls.of(config_of(runtime.settings), runtime.store, auditor, utc_now)


class DbAuthBackend(AuthBackend[DbAuthConfig]):
    """Users and roles in vecron's database; access tokens are HS256 JWTs it signs.

    :meth:`authenticate` answers ``None`` when the request has no bearer token or a JWT
    of another issuer (the next backend may know it); every defect of its own tokens
    raises :class:`vecron.Unauthenticated`. The token's user is read again at most every
    ``user_cache_seconds`` (:mod:`.grants`): a user deleted, disabled or given a new
    password through this process is refused at once, through another within that time.
    """

    kind = "db"
    Config = DbAuthConfig

    def __init__(self, config: DbAuthConfig, *, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(config)
        self.clock = clock
        self._started: _Started | None = None

    async def start(self, services: AuthServices) -> None:
        config = self.config
        auditor = Auditor(services.audit, self.clock)
        shared = Services.of(config, services.database, auditor, self.clock)
        life = timedelta(seconds=config.access_token_seconds)
        leeway = timedelta(seconds=config.leeway_seconds)
        keys = SigningKeys(
            services.database, services.secrets, clock=self.clock, keep_retired=life + leeway
        )
        await keys.start()
        tokens = AccessTokens(
            keys, issuer=config.issuer, life=life, leeway=leeway, clock=self.clock
        )
        await shared.passwords.prepare()
        await create_first_admin(
            services.database, shared.passwords, services.state_dir, self.clock
        )
        self._started = _Started(
            database=services.database,
            services=shared,
            keys=keys,
            tokens=tokens,
            sessions=Sessions(
                config,
                database=services.database,
                passwords=shared.passwords,
                tokens=tokens,
                auditor=auditor,
                clock=self.clock,
            ),
        )

    @property
    def started(self) -> _Started:
        if self._started is None:
            raise RuntimeError("the db auth backend is not started; call start() first")
        return self._started

    @property
    def users(self) -> UserService:
        return self.started.services.users

    @property
    def roles(self) -> RoleService:
        return self.started.services.roles

    @property
    def sessions(self) -> Sessions:
        return self.started.sessions

    async def login(self, username: str, password: str, address: str | None) -> TokenPair:
        return await self.sessions.login(username, password, address)

    async def refresh(self, refresh_token: str, address: str | None) -> TokenPair:
        return await self.sessions.refresh(refresh_token, address)

    async def logout(self, refresh_token: str, address: str | None) -> None:
        await self.sessions.logout(refresh_token, address)

    async def rotate_signing_key(self) -> str:
        """Sign with a new key from now on (old tokens stay valid until they expire).
        :returns: the new key's id."""
        key: SigningKey = await self.started.keys.rotate()
        return key.kid

    async def authenticate(self, request: AuthRequest) -> Principal | None:
        token = request.bearer()
        if token is None:
            return None
        if is_refresh_token(token):
            raise Unauthenticated(
                "a refresh token is not an access token; trade it at /auth/refresh",
                reason="invalid-token",
            )
        if unverified_issuer(token) != self.config.issuer:
            return None  # not a JWT, or another issuer's: another backend's to judge
        started = self.started
        claims = await started.tokens.verify(token)
        grants = started.services.grants
        grant = grants.get(claims.user_id)
        if grant is None:
            epoch = grants.epoch
            async with started.database.connect() as conn:
                user = await records.user_by_id(conn, claims.user_id)
                if user is None:
                    raise Unauthenticated(
                        "the token's user no longer exists", reason="invalid-token"
                    )
                custom = await records.custom_roles(
                    conn, [role for role in user.roles if role not in BUILTIN_ROLES]
                )
            grant = grants.keep(user, records.permissions(user.roles, custom), read_in=epoch)
        user = grant.user
        if user.disabled:
            raise Unauthenticated("the token's user is disabled", reason="user-disabled")
        if user.token_generation != claims.generation:
            raise Unauthenticated(
                "the token was revoked; log in again",
                reason="token-revoked",
            )
        return Principal(
            subject=user.name,
            permissions=grant.permissions,
            roles=frozenset(user.roles),
            source="api",
            address=request.address,
        )


@dataclass(frozen=True, slots=True)
class _Started:
    database: Database
    services: Services
    keys: SigningKeys
    tokens: AccessTokens
    sessions: Sessions
