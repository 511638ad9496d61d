"""The issuing agencies' profiles: names, number prefix, seals, remedy bodies.

An agency's identity is the operator's to configure, never a request's: a
document that verify calls authentic must name an agency the bureau set up.
ZHIFA_AGENCY_FILE holds one profile (the shape of data/agency.demo.json) or
several: {"default": "<id>", "profiles": {"<id>": {...}, ...}}. The demo
profile is built in so `make run` works out of the box. A request's
`data.agency` may choose a profile (`profile`) and set the contact details
printed for this one document (REQUEST_FIELDS), nothing else.

Optional profile keys: "number_kinds" ({doc type: 文号 kind}), "number_di"
(true to print 第 before the sequence; GB/T 9704 §7.2.4 and the default have
none), "hearing_thresholds" (较大数额 of 处罚法 art. 63, see penalties.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.generator.penalties import DEFAULT_HEARING_THRESHOLDS
from shared.problems import invalid_field

DEMO_PROFILE = Path(__file__).parent / "data" / "agency.demo.json"

# Fields a template may print; `seal_name` is derived per document type.
TEMPLATE_FIELDS = ("name", "alias", "short_name", "credit_code", "address", "postcode", "phone",
                   "contact", "reconsideration_body", "court")
# Every decision names its remedy bodies, so a profile without them cannot start.
REQUIRED_FIELDS = ("name", "short_name", "reconsideration_body", "court")
REQUEST_FIELDS = ("contact", "phone", "address", "postcode")


@dataclass(frozen=True)
class Agency:
    id: str
    profile: dict

    @property
    def short_name(self) -> str:
        return self.profile["short_name"]

    @property
    def name(self) -> str:
        return self.profile["name"]

    @property
    def hearing_thresholds(self) -> dict:
        """较大数额 for the hearing right (处罚法 art. 63), the province's figures when the profile gives them."""
        return self.profile.get("hearing_thresholds") or DEFAULT_HEARING_THRESHOLDS

    def number_kind(self, doc_type: str, default: str) -> str:
        return (self.profile.get("number_kinds") or {}).get(doc_type, default)

    def for_document(self, request: dict | None, seal: str) -> dict:
        """The agency fields one document prints: the profile, with the request's contact details."""
        merged = {f: self.profile.get(f, "") for f in TEMPLATE_FIELDS}
        merged.update({k: v for k, v in (request or {}).items() if k in REQUEST_FIELDS and v})
        merged["seal_name"] = {"license": self.profile.get("license_seal", ""),
                               "agency": self.profile.get("agency_seal", merged["name"])}.get(seal, "")
        return merged


class AgencyProfiles:
    def __init__(self, profiles: dict[str, dict], default: str):
        for agency_id, profile in profiles.items():
            missing = [f for f in REQUIRED_FIELDS if not str(profile.get(f) or "").strip()]
            if missing:
                raise ValueError(f"agency profile {agency_id!r} lacks {', '.join(missing)}")
            _check_thresholds(agency_id, profile.get("hearing_thresholds"))
        if default not in profiles:
            raise ValueError(f"default agency profile {default!r} is not among {sorted(profiles)}")
        self._agencies = {i: Agency(i, p) for i, p in profiles.items()}
        self.default = default

    @classmethod
    def load(cls, path: Path | None) -> "AgencyProfiles":
        source = path or DEMO_PROFILE
        try:
            content = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read agency profiles {source}: {exc}") from exc
        if "profiles" in content:
            return cls(content["profiles"], content.get("default") or next(iter(content["profiles"]), ""))
        return cls({"default": content}, "default")

    def __iter__(self):
        return iter(self._agencies.values())

    def choose(self, request: dict | None, path: str = "data/agency/profile") -> Agency:
        """The profile a document's `data.agency.profile` names, or the default one."""
        agency_id = (request or {}).get("profile") or self.default
        agency = self._agencies.get(agency_id)
        if agency is None:
            raise invalid_field(path, f"未配置的机关“{str(agency_id)[:50]}”，可选：{'、'.join(self._agencies)}。")
        return agency


def _check_thresholds(agency_id: str, thresholds) -> None:
    """A profile's 较大数额 figures: {"fine"|"confiscation": {"person": yuan, "organization": yuan}, "basis": text}."""
    if thresholds is None:
        return
    if not isinstance(thresholds, dict) or not isinstance(thresholds.get("basis"), str) or not thresholds["basis"]:
        raise ValueError(f"agency profile {agency_id!r}: hearing_thresholds must be an object naming its basis")
    for what in ("fine", "confiscation"):
        table = thresholds.get(what)
        for party in ("person", "organization"):
            value = table.get(party) if isinstance(table, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"agency profile {agency_id!r}: hearing_thresholds.{what}.{party} "
                                 "must be a positive number of yuan")
