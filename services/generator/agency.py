"""The issuing agency's profile: names, number prefix, seals, remedy bodies.

Loaded from ZHIFA_AGENCY_FILE (same shape as data/agency.demo.json); the demo
profile is built in so `make run` works out of the box. A request's
`data.agency` overrides single fields for that one document.
"""
from __future__ import annotations

import json
from pathlib import Path

DEMO_PROFILE = Path(__file__).parent / "data" / "agency.demo.json"

# Fields a template may print; `seal_name` is derived per document type.
TEMPLATE_FIELDS = ("name", "alias", "short_name", "credit_code", "address", "postcode", "phone",
                   "contact", "reconsideration_body", "court")
REQUIRED_FIELDS = ("name", "short_name")


class AgencyProfile:
    def __init__(self, profile: dict):
        missing = [f for f in REQUIRED_FIELDS if not str(profile.get(f) or "").strip()]
        if missing:
            raise ValueError(f"agency profile lacks {', '.join(missing)}")
        self.profile = profile

    @classmethod
    def load(cls, path: Path | None) -> "AgencyProfile":
        source = path or DEMO_PROFILE
        try:
            profile = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read agency profile {source}: {exc}") from exc
        return cls(profile)

    @property
    def short_name(self) -> str:
        return self.profile["short_name"]

    def number_kind(self, doc_type: str, default: str) -> str:
        return (self.profile.get("number_kinds") or {}).get(doc_type, default)

    def for_document(self, overrides: dict | None, seal: str) -> dict:
        """The agency fields one document prints: profile, then the request's overrides."""
        merged = {f: self.profile.get(f, "") for f in TEMPLATE_FIELDS}
        merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
        merged["seal_name"] = {"license": self.profile.get("license_seal", ""),
                               "agency": self.profile.get("agency_seal", merged["name"])}.get(seal, "")
        return merged
