"""Bearer tokens mapped to roles.

Tokens come from ZHIFA_API_KEYS ("token=role,token=role") and/or
ZHIFA_API_KEYS_FILE (one "token=role" per line, # comments allowed).
The file is read again whenever it changes (checked on each use): removing
a token from it revokes that token at once, in every running process,
without a restart.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shared.problems import Problem

log = logging.getLogger("zhifa.auth")

ROLES = ("case-system", "archivist", "publisher", "admin")


@dataclass(frozen=True)
class Principal:
    role: str
    token_id: str   # first 8 hex of the token's SHA-256: names the caller in logs without the secret

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.token_id}"


def parse_keys(text: str, source: str, min_length: int = 0) -> dict[str, str]:
    """`min_length`: shorter tokens are refused (ValueError naming the source and the role,
    never the token): a short token can be guessed."""
    keys: dict[str, str] = {}
    items = (item.strip() for line in text.splitlines() if not line.lstrip().startswith("#")
             for item in line.split(","))
    for item in items:
        if not item:
            continue
        token, sep, role = item.partition("=")
        token, role = token.strip(), role.strip()
        if not sep or not token or role not in ROLES:
            raise ValueError(f"{source}: bad API key entry {item[:4]}…; expected token=role with role in {ROLES}")
        if len(token) < min_length:
            raise ValueError(f"{source}: the token of a {role} entry has {len(token)} characters, fewer than "
                             f"{min_length} (ZHIFA_API_KEY_MIN_LENGTH); make one with "
                             "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        keys[token] = role
    return keys


class ApiKeys:
    def __init__(self, inline: str | None = None, file: Path | None = None, min_length: int = 0):
        self._min_length = min_length
        self._inline = parse_keys(inline, "ZHIFA_API_KEYS", min_length) if inline else {}
        self._file = Path(file) if file is not None else None
        self._file_keys: dict[str, str] = {}
        self._file_stamp: tuple | None = None
        self._lock = threading.Lock()
        if self._file is not None:
            self._file_stamp = self._stamp()
            # bad at start: fail
            self._file_keys = parse_keys(self._file.read_text(encoding="utf-8"), str(self._file), min_length)

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(self._file)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _keys(self) -> dict[str, str]:
        """The current keys: the file's as it is now (re-read when it changed), then the inline ones."""
        if self._file is not None:
            stamp = self._stamp()
            if stamp != self._file_stamp:
                with self._lock:
                    try:
                        keys = (parse_keys(self._file.read_text(encoding="utf-8"), str(self._file), self._min_length)
                                if stamp else {})
                    except (OSError, ValueError):
                        # Fail closed: a broken or vanished file grants nothing until it is fixed.
                        log.error("API keys file unreadable or invalid; its tokens are refused until it is fixed")
                        keys = {}
                    self._file_keys, self._file_stamp = keys, stamp
        return {**self._file_keys, **self._inline}

    def __len__(self) -> int:
        """How many tokens are configured: none means every write is refused."""
        return len(self._keys())

    def role(self, authorization: str | None) -> str | None:
        """The role of a valid bearer token in an Authorization header, else None."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        role = None
        if scheme.lower() == "bearer" and token:
            for known, known_role in self._keys().items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    role = known_role
        return role

    def find(self, digest: Callable[[str], str], expected: str) -> Principal | None:
        """The principal of the configured token whose `digest` is `expected`, if it is still configured:
        lets a server-side session name its token without storing it, and die when it is removed."""
        found = None
        for known, known_role in self._keys().items():
            if hmac.compare_digest(digest(known).encode(), expected.encode()):
                found = Principal(known_role, token_id(known))
        return found

    def authenticate(self, authorization: str | None, allowed_roles: tuple[str, ...]) -> Principal:
        role = self.role(authorization)
        token = (authorization or "").partition(" ")[2].strip()
        if role is None:
            raise Problem(401, "unauthorized", "未认证", "需要有效的访问令牌（Authorization: Bearer <token>）。")
        if role not in allowed_roles and role != "admin":
            raise Problem(403, "forbidden", "无权操作",
                          f"当前令牌的角色（{role}）无权执行此操作，需要角色：{'、'.join(allowed_roles)}。")
        return Principal(role, token_id(token))


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]
