"""Passwords: argon2id hashes (argon2-cffi), the password policy, generated passwords."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from functools import cached_property

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from vecron import ValidationError

from .config import DbAuthConfig

#: Longest password accepted (characters): hashing is costly enough without megabytes.
MAX_PASSWORD_LENGTH = 1024


def generate_password() -> str:
    """A random password of 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


class Passwords:
    """Hashes and checks passwords with the configured argon2id parameters.

    Hashing runs in threads, at most one per CPU at a time: each hash holds
    ``argon2_memory_kib`` of memory, so a flood of logins queues instead of exhausting
    the machine's memory.
    """

    def __init__(self, config: DbAuthConfig) -> None:
        self.min_length = config.password_min_length
        self._hasher = PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
            type=Type.ID,
        )
        self._slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

    def check_policy(self, password: str, *, field: str = "password") -> None:
        """:raises ValidationError: too short or too long (the message never repeats it)."""
        if len(password) < self.min_length:
            raise ValidationError(
                f"a password needs at least {self.min_length} characters",
                field=field,
                reason="password-too-short",
                params={"min_length": self.min_length},
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationError(
                f"a password has at most {MAX_PASSWORD_LENGTH} characters",
                field=field,
                reason="password-too-long",
                params={"max_length": MAX_PASSWORD_LENGTH},
            )

    async def prepare(self) -> None:
        """Make the dummy hash now, so the first unknown user's login costs no more than
        any other."""
        await asyncio.to_thread(lambda: self._dummy)

    async def hash(self, password: str) -> str:
        """The argon2id hash (PHC string, salt included) of ``password``."""
        return await asyncio.to_thread(self._hash, password)

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Does ``password`` match ``hashed``? ``None`` (no such user) is checked against
        a dummy hash of the same cost, so that an unknown user takes as long as a wrong
        password and nothing tells the two apart."""
        return await asyncio.to_thread(self._verify, hashed, password)

    def needs_rehash(self, hashed: str) -> bool:
        """Was ``hashed`` made with weaker parameters than configured now?"""
        try:
            stored = extract_parameters(hashed)
        except InvalidHashError:
            return True
        wanted = self._hasher
        return (
            stored.type is not Type.ID
            or stored.memory_cost < wanted.memory_cost
            or stored.time_cost < wanted.time_cost
            or stored.parallelism < wanted.parallelism
            or stored.hash_len < wanted.hash_len
            or stored.salt_len < wanted.salt_len
        )

    @cached_property
    def _dummy(self) -> str:
        return self._hash(secrets.token_urlsafe(32))

    def _hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def _verify(self, hashed: str | None, password: str) -> bool:
        target = self._dummy if hashed is None else hashed
        with self._slots:
            try:
                return self._hasher.verify(target, password) and hashed is not None
            except (VerificationError, InvalidHashError):
                return False
