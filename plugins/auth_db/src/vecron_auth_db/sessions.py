"""Sessions: log in with a password, refresh the token pair, log out.

A login answers the same ("invalid username or password") for an unknown user, a wrong
password and a disabled user, after the same argon2 work (an unknown user is checked
against a dummy hash). Failed logins are throttled per user name and per client address
(:class:`LoginThrottle`). Refresh tokens rotate: each refresh revokes the token it used
and issues the next of its family; a revoked token presented again means it leaked, so
its whole family is revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vecron import Database, Principal, Unauthenticated

from . import records
from .audit import Auditor
from .config import DbAuthConfig
from .passwords import Passwords
from .records import UserRecord
from .throttle import LoginThrottle, RateLimit
from .tokens import AccessTokens, is_refresh_token, new_refresh_token, refresh_digest
from .views import TokenPair

BAD_LOGIN = "invalid username or password"
BAD_REFRESH = "the refresh token is invalid, expired or revoked"


def caller(name: str, address: str | None) -> Principal:
    """Who an audit entry of a login names: the user name given (not a password)."""
    return Principal(subject=name[:128], permissions=frozenset(), source="api", address=address)


@dataclass(frozen=True, slots=True)
class _Refreshed:
    user: UserRecord | None
    refresh_token: str | None = None
    reused: bool = False


class Sessions:
    """Login, refresh and logout for one backend."""

    def __init__(
        self,
        config: DbAuthConfig,
        *,
        database: Database,
        passwords: Passwords,
        tokens: AccessTokens,
        auditor: Auditor,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._passwords = passwords
        self._tokens = tokens
        self._audit = auditor
        self._clock = clock
        self._refresh_life = timedelta(seconds=config.refresh_token_seconds)
        self.throttle = LoginThrottle(
            max_failures=config.login_max_failures,
            window=timedelta(seconds=config.login_window_seconds),
            lockout=timedelta(seconds=config.lockout_seconds),
            clock=clock,
        )
        self.refresh_limit = RateLimit(
            limit=config.refresh_per_minute, window=timedelta(minutes=1), clock=clock
        )

    async def login(self, username: str, password: str, address: str | None) -> TokenPair:
        """:raises Unauthenticated: wrong credentials (one answer for every reason).
        :raises TooManyRequests: too many failures for this name or address."""
        keys = [f"user:{username.casefold()}"] + ([f"address:{address}"] if address else [])
        self.throttle.check(keys)
        async with self._database.connect() as conn:
            user = await records.user_by_name(conn, username)
        stored = None if user is None else user.password_hash
        matches = await self._passwords.verify(stored, password)
        if user is None or user.disabled or not matches:
            self.throttle.failed(keys)
            await self._audit.record(
                caller(username, address), "auth.login", f"user:{username[:128]}", "failed"
            )
            raise Unauthenticated(BAD_LOGIN, reason="invalid-credentials")
        self.throttle.succeeded(keys[0])
        if self._passwords.needs_rehash(user.password_hash):
            await self._rehash(user, password)
        refresh_token = new_refresh_token()
        async with self._database.begin() as conn:
            await records.add_token(
                conn,
                digest=refresh_digest(refresh_token),
                user_id=user.id,
                family=None,
                now=self._clock(),
                life=self._refresh_life,
            )
        await self._audit.record(caller(user.name, address), "auth.login", f"user:{user.name}")
        return await self._pair(user, refresh_token)

    async def refresh(self, token: str, address: str | None) -> TokenPair:
        """:raises Unauthenticated: the token is unknown, expired or revoked (reuse of a
        rotated one revokes its family), or its user is disabled or gone.
        :raises TooManyRequests: too many refreshes from this address."""
        self.refresh_limit.hit(address or "-", "token refreshes")
        if not is_refresh_token(token):
            raise Unauthenticated(BAD_REFRESH, reason="invalid-token")
        outcome = await self._rotate(refresh_digest(token))
        if outcome.user is None or outcome.refresh_token is None:
            if outcome.user is not None:
                await self._audit.record(
                    caller(outcome.user.name, address),
                    "auth.refresh",
                    f"user:{outcome.user.name}",
                    "denied",
                    {"reason": "reused" if outcome.reused else "refused"},
                )
            raise Unauthenticated(BAD_REFRESH, reason="invalid-token")
        return await self._pair(outcome.user, outcome.refresh_token)

    async def logout(self, token: str, address: str | None) -> None:
        """Revoke ``token``; an unknown or already revoked token is no error (the
        answer tells nothing about it)."""
        if not is_refresh_token(token):
            return
        now = self._clock()
        async with self._database.begin() as conn:
            found = await records.token_by_digest(conn, refresh_digest(token))
            revoked = found is not None and await records.revoke_token(conn, found.id, now)
            user = await records.user_by_id(conn, found.user_id) if found else None
        if revoked and user is not None:
            await self._audit.record(caller(user.name, address), "auth.logout", f"user:{user.name}")

    async def _rotate(self, digest: str) -> _Refreshed:
        now = self._clock()
        async with self._database.begin() as conn:
            found = await records.token_by_digest(conn, digest)
            if found is None:
                return _Refreshed(None)
            user = await records.user_by_id(conn, found.user_id)
            if found.revoked_at is not None:
                if found.replaced_by is not None:  # a rotated token again: it leaked
                    await records.revoke_tokens(conn, now, family=found.family)
                    return _Refreshed(user, reused=True)
                return _Refreshed(user)
            if found.expires_at <= now or user is None or user.disabled:
                return _Refreshed(user)
            fresh = new_refresh_token()
            fresh_id = await records.add_token(
                conn,
                digest=refresh_digest(fresh),
                user_id=user.id,
                family=found.family,
                now=now,
                life=self._refresh_life,
            )
            if not await records.revoke_token(conn, found.id, now, replaced_by=fresh_id):
                return _Refreshed(user)  # unreachable under the row lock; refuse anyway
            return _Refreshed(user, fresh)

    async def _rehash(self, user: UserRecord, password: str) -> None:
        """Store a hash with today's parameters, unless the password changed meanwhile."""
        hashed = await self._passwords.hash(password)
        async with self._database.begin() as conn:
            current = await records.user_by_id(conn, user.id)
            if current is not None and current.password_hash == user.password_hash:
                await records.update_user(conn, user.id, password_hash=hashed)

    async def _pair(self, user: UserRecord, refresh_token: str) -> TokenPair:
        access = await self._tokens.issue(
            user_id=user.id, name=user.name, roles=user.roles, generation=user.token_generation
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self._tokens.life.total_seconds()),
        )
