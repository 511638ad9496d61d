"""Bearer tokens mapped to roles.

Tokens come from ZHIFA_API_KEYS ("token=role,token=role") and/or
ZHIFA_API_KEYS_FILE (one "token=role" per line, # comments allowed).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from shared.problems import Problem

ROLES = ("case-system", "archivist", "publisher", "admin")


@dataclass(frozen=True)
class Principal:
    role: str
    token_id: str   # first 8 hex of the token's SHA-256: names the caller in logs without the secret

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.token_id}"


def parse_keys(text: str, source: str) -> dict[str, str]:
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
        keys[token] = role
    return keys


class ApiKeys:
    def __init__(self, inline: str | None = None, file: Path | None = None):
        self._keys: dict[str, str] = {}
        if file is not None:
            self._keys.update(parse_keys(Path(file).read_text(encoding="utf-8"), str(file)))
        if inline:
            self._keys.update(parse_keys(inline, "ZHIFA_API_KEYS"))

    def __len__(self) -> int:
        """How many tokens are configured: none means every write is refused."""
        return len(self._keys)

    def role(self, authorization: str | None) -> str | None:
        """The role of a valid bearer token in an Authorization header, else None."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        role = None
        if scheme.lower() == "bearer" and token:
            for known, known_role in self._keys.items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    role = known_role
        return role

    def authenticate(self, authorization: str | None, allowed_roles: tuple[str, ...]) -> Principal:
        role = self.role(authorization)
        token = (authorization or "").partition(" ")[2].strip()
        if role is None:
            raise Problem(401, "unauthorized", "未认证", "需要有效的访问令牌（Authorization: Bearer <token>）。")
        if role not in allowed_roles and role != "admin":
            raise Problem(403, "forbidden", "无权操作",
                          f"当前令牌的角色（{role}）无权执行此操作，需要角色：{'、'.join(allowed_roles)}。")
        return Principal(role, hashlib.sha256(token.encode()).hexdigest()[:8])
