"""`zhifa demo`: one licensing case and one penalty case through the whole system, over HTTP.

For each case: the generator issues the case's documents (under one case
number); the decision becomes a pending publication in the search service
(the generator's outbox tells it, with the due date on the working-day
calendar); a publisher publishes it from that entry; an archivist opens a
case file, collects the case's documents in one click, adds a piece of
evidence, seals the file and verifies the sealed copy; the decision is found
on the public search page; the link a document's QR code carries is
verified. Every step prints what it did, with links. Only the services' public
HTTP contract is used, as a case system, an archivist and a publisher would.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

CHINA = timezone(timedelta(hours=8))
WAIT_SECONDS = 180


def _shifted(value, shift: timedelta):
    """`value` with every ISO date string in it moved by `shift`, intervals kept."""
    if isinstance(value, dict):
        return {k: _shifted(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, shift) for v in value]
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return (date.fromisoformat(value) + shift).isoformat()
        except ValueError:
            return value
    return value


class DemoFailed(Exception):
    """A step did not give what the system promises: the message says which and why."""


@dataclass
class Demo:
    generator: str
    archive: str
    search: str
    tokens: dict[str, str]
    out: callable = print
    timeout: float = 120.0
    links: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        self.http = httpx.Client(timeout=self.timeout)
        self.run_id = datetime.now(CHINA).strftime("%H%M%S") + secrets.token_hex(2)

    # -- plumbing -------------------------------------------------------------------------------

    def call(self, method: str, url: str, role: str | None = None, expect=(200, 201), **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if role:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        resp = self.http.request(method, url, headers=headers, **kwargs)
        if resp.status_code not in expect:
            raise DemoFailed(f"{method} {url} answered {resp.status_code}: {resp.text[:800]}")
        return resp

    def step(self, text: str) -> None:
        self.out(f"  - {text}")

    def link(self, label: str, url: str) -> None:
        self.links.append((label, url))
        self.out(f"      {label}: {url}")

    def template(self, doc_type: str, shift: timedelta = timedelta(0)) -> dict:
        """The type's example, every date moved by `shift` (one case's documents by the same)."""
        return _shifted(copy.deepcopy(self.call("GET", f"{self.generator}/v1/templates/{doc_type}").json()["example"]),
                        shift)

    def shift_to_today(self, *doc_types: str) -> timedelta:
        """How far to move a case's example dates so that its last document is dated today: the
        examples' own dates age, and a decision months old shows its publication overdue."""
        last = max(date.fromisoformat(ex.get("issued_on") or ex["decision"]["date"])
                   for ex in map(self.template, doc_types))
        return datetime.now(CHINA).date() - last

    def issue(self, doc_type: str, data: dict, case_number: str) -> dict:
        doc = self.call("POST", f"{self.generator}/v1/documents", "case-system",
                        json={"type": doc_type, "data": data, "case_number": case_number, "formats": ["docx", "pdf"]},
                        headers={"Idempotency-Key": f"demo-{hashlib.sha256(case_number.encode()).hexdigest()[:16]}-{doc_type}"}).json()
        if doc["files"]["pdf"]["status"] != "done":       # made by a worker: wait for it
            self.call("GET", f"{self.generator}/v1/documents/{doc['id']}/pdf?wait=30", "case-system")
            doc = self.call("GET", f"{self.generator}/v1/documents/{doc['id']}", "case-system").json()
        due = next((d["due_on"] for d in doc["deadlines"] if d["key"] == "publication_decision"), None)
        self.step(f"生成 {doc['title']} {doc['number']}" + (f"（公示截止 {due}）" if due else ""))
        return doc

    def receipt_for(self, served: dict, case_number: str, penalty: bool, shift: timedelta) -> dict:
        data = self.template("service_receipt", shift)
        data["service"].update(document_number=served["number"], document_title=served["title"])
        data["party"] = served["data"]["party"]
        if penalty:
            data["case"] = served["data"]["case"]
        else:
            data.pop("case", None)                       # a licence has no penalty case
        return self.issue("service_receipt", data, case_number)

    # -- the steps --------------------------------------------------------------------------------

    def pending_entry(self, doc: dict) -> dict:
        """The decision's pending publication, once the generator's outbox has told the search service."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            for status in ("pending", "published"):
                entries = self.call("GET", f"{self.search}/v1/pending", "publisher",
                                    params={"status": status, "size": 200}).json()["entries"]
                found = next((e for e in entries if e["document_id"] == doc["id"]), None)
                if found:
                    state = "已逾期 %d 天" % found["days_past_due"] if found["overdue"] else found["status"]
                    self.step(f"公示查询服务已登记待公示：{found['number']}，截止 {found['due_on']}（{state}）")
                    return found
            if time.monotonic() > deadline:
                raise DemoFailed(f"decision {doc['number']} never became a pending publication in the search service")
            time.sleep(0.5)

    def publish(self, doc: dict) -> dict:
        published = self.call("POST", f"{self.search}/v1/pending/{doc['id']}/publish", "publisher").json()
        if published["status"] != "published":
            raise DemoFailed(f"pending entry of {doc['number']} is {published['status']} after publishing")
        self.step(f"公示员按待公示条目发布 {doc['number']}，公示至 {published['publish_until']}")
        self.link("公示页面", published["public_url"])
        return published

    def case_file(self, kind: str, decision: dict, case_number: str, opened_on: str, title: str) -> dict:
        party = {k: v for k, v in decision["data"]["party"].items()
                 if k in ("kind", "name", "id_type", "id_number", "credit_code", "legal_representative")}
        body = {"archive_number": f"DEMO-{date.today().year}-{kind[0].upper()}-{self.run_id}", "fonds": "A012",
                "fonds_name": "鞍山市行政审批局", "title": title, "case_type": kind, "party": party,
                "case_number": case_number, "decision_number": decision["number"], "handling_unit": "综合审批科",
                "opened_on": opened_on, "closed_on": datetime.now(CHINA).date().isoformat(), "retention": "30年",
                "compiled_by": "王敏", "checked_by": "李强"}
        cf = self.call("POST", f"{self.archive}/v1/case-files", "archivist", json=body).json()
        self.step(f"建立案卷 {cf['archive_number']}（{title}）")
        report = self.call("POST", f"{self.archive}/v1/case-files/{cf['id']}/collect", "archivist", json={}).json()
        if report["refused"]:
            raise DemoFailed(f"documents refused by the case file: {json.dumps(report['refused'], ensure_ascii=False)}")
        self.step(f"一键归集案件 {case_number} 的 {len(report['added'])} 份文书（按装订顺序）："
                  + "、".join(i["title"] for i in report["case_file"]["items"]))
        again = self.call("POST", f"{self.archive}/v1/case-files/{cf['id']}/collect", "archivist", json={}).json()
        if again["added"]:
            raise DemoFailed("collecting a second time added documents again")
        self.step(f"再次归集：新增 0 份（{len(again['already_present'])} 份已在卷内）")
        return report["case_file"]

    def add_evidence(self, cf: dict, title: str, category: str, author: str, day: str) -> None:
        scan = evidence_scan(title)
        meta = {"title": title, "kind": "evidence", "category": category, "date": day, "author": author}
        self.call("POST", f"{self.archive}/v1/case-files/{cf['id']}/items", "archivist",
                  files={"file": ("evidence.png", scan, "image/png")},
                  data={"meta": json.dumps(meta, ensure_ascii=False)})
        self.step(f"档案员加入证据：{title}")

    def seal_and_verify(self, cf: dict, tmp: Path) -> dict:
        checks = self.call("GET", f"{self.archive}/v1/case-files/{cf['id']}/checks", "archivist").json()
        failed = [c for c in checks["checks"] if not c["passed"]]
        body = {}
        if failed:
            body["override_reason"] = "演示：" + "；".join(f"{c['name']}未通过" for c in failed)[:400]
            self.step("四性检测未全部通过，说明理由后封存：" + "；".join(f"{c['name']}（{c.get('detail', '')[:60]}）"
                                                        for c in failed))
        else:
            self.step("四性检测全部通过")
        self.call("POST", f"{self.archive}/v1/case-files/{cf['id']}/seal", "archivist", expect=(202,), json=body)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            state = self.call("GET", f"{self.archive}/v1/case-files/{cf['id']}", "archivist").json()
            if state["status"] == "sealed":
                break
            if state["status"] == "open" and (state.get("seal") or {}).get("error"):
                raise DemoFailed(f"sealing failed: {state['seal']['error']}")
            if time.monotonic() > deadline:
                raise DemoFailed("sealing did not finish")
            time.sleep(0.5)
        pdf = self.call("GET", f"{self.archive}/v1/case-files/{cf['id']}/pdf", "archivist").content
        path = tmp / f"{state['archive_number']}.pdf"
        path.write_bytes(pdf)
        report = self.call("POST", f"{self.archive}/v1/verify", files={"file": (path.name, pdf, "application/pdf")}).json()
        if not (report["valid"] and report["intact"] and report["ledger"]["found"]):
            raise DemoFailed(f"the sealed file does not verify: {json.dumps(report, ensure_ascii=False)[:800]}")
        self.step(f"封存完成：{state['item_count']} 件 {state['page_count']} 页，印章核验有效，台账第 "
                  f"{report['ledger']['sequence']} 条；副本存于 {path}")
        self.link("案卷页面（档案员登录）", f"{self.archive}/case-files/{cf['id']}")
        return state

    def found_on_search_page(self, published: dict, party: str) -> None:
        page = self.call("GET", f"{self.search}/", params={"q": party})
        if published["published_number"] not in page.text:
            raise DemoFailed(f"{published['published_number']} is not on the search page for {party}")
        self.step(f"公众检索“{party}”找到 {published['published_number']}")
        self.link("检索页面", f"{self.search}/?{urlencode({'q': party})}")

    def qr_link_verified(self, doc: dict) -> None:
        """The QR code carries the public verification page with number and code; here it is the search
        service's /verify (ZHIFA_PUBLIC_VERIFY_URL points there by default)."""
        url = f"{self.search}/verify?{urlencode({'number': doc['number'], 'code': doc['verification_code']})}"
        page = self.call("GET", url)
        answer = self.call("GET", f"{self.generator}/v1/verify",
                           params={"number": doc["number"], "code": doc["verification_code"]}).json()
        if not answer.get("authentic") or "核验通过" not in page.text or doc["number"] not in page.text:
            raise DemoFailed(f"the QR link of {doc['number']} does not verify: {answer}")
        self.step(f"二维码核验：{doc['number']} 为本机关签发的真实文书（摘要 {answer['sha256'][:16]}…）")
        self.link("核验页面", url)

    # -- the two cases ----------------------------------------------------------------------------

    def licensing_case(self, tmp: Path) -> None:
        case_number = f"许可演示-{self.run_id}"
        self.out(f"行政许可案件 {case_number}")
        shift = self.shift_to_today("license_acceptance_notice", "license_grant_decision", "service_receipt")
        accepted = self.issue("license_acceptance_notice", self.template("license_acceptance_notice", shift), case_number)
        granted = self.issue("license_grant_decision", self.template("license_grant_decision", shift), case_number)
        self.receipt_for(granted, case_number, penalty=False, shift=shift)
        self.pending_entry(granted)
        published = self.publish(granted)
        party = granted["data"]["party"]["name"]
        cf = self.case_file("license", granted, case_number, granted["data"]["application"]["received_on"],
                            f"{party}食品经营许可案")
        self.add_evidence(cf, "营业执照复印件", "identity", party, accepted["issued_on"])
        self.seal_and_verify(cf, tmp)
        self.found_on_search_page(published, party)
        self.qr_link_verified(granted)

    def penalty_case(self, tmp: Path) -> None:
        case_number = f"罚演示-{self.run_id}"
        self.out(f"行政处罚案件 {case_number}")
        docs, shift = {}, self.shift_to_today("case_filing_form", "penalty_prior_notice", "penalty_decision",
                                              "service_receipt")
        for doc_type in ("case_filing_form", "penalty_prior_notice", "penalty_decision"):
            data = self.template(doc_type, shift)
            data["case"]["number"] = case_number
            docs[doc_type] = self.issue(doc_type, data, case_number)
        decision = docs["penalty_decision"]
        self.receipt_for(decision, case_number, penalty=True, shift=shift)
        self.pending_entry(decision)
        published = self.publish(decision)
        party = decision["data"]["party"]["name"]
        cf = self.case_file("penalty", decision, case_number, decision["data"]["case"]["filed_on"],
                            f"{party}{decision['data']['case']['cause']}案")
        self.add_evidence(cf, "现场检查照片", "documentary", "执法人员", docs["case_filing_form"]["issued_on"])
        self.seal_and_verify(cf, tmp)
        self.found_on_search_page(published, party)
        self.qr_link_verified(decision)

    def wait_ready(self, name: str, url: str, seconds: float = 180) -> None:
        """Right after `zhifa run` a service may still be starting (the archive makes its seal key)."""
        deadline, told = time.monotonic() + seconds, False
        while True:
            try:
                self.call("GET", f"{url}/readyz")
                return
            except (httpx.HTTPError, DemoFailed) as exc:
                if time.monotonic() > deadline:
                    raise DemoFailed(f"the {name} service at {url} is not ready: {exc}") from None
                if not told:
                    self.out(f"等待 {name} 服务就绪（{url}）……")
                    told = True
                time.sleep(1)

    def run(self, tmp: Path) -> None:
        for name, url in (("generator", self.generator), ("archive", self.archive), ("search", self.search)):
            self.wait_ready(name, url)
        self.licensing_case(tmp)
        self.penalty_case(tmp)
        self.out("")
        self.out("演示完成。链接：")
        for label, url in self.links:
            self.out(f"  {label}: {url}")
        self.out(f"  待公示决定（公示员登录）: {self.search}/publisher/")


def evidence_scan(title: str) -> bytes:
    """A small A4 'scan' (PNG, 100 dpi) standing for the piece of evidence the archivist adds."""
    from PIL import Image, ImageDraw
    width, height = 827, 1169
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle([80, 80, width - 80, height - 80], outline=0, width=4)
    draw.text((120, 120), f"DEMO EVIDENCE {len(title)}", fill=0)
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(100, 100))
    return out.getvalue()


def read_tokens(path: Path) -> dict[str, str]:
    """The first token of each role in a `token=role` file (the one `zhifa run` writes)."""
    from shared.auth import parse_keys
    tokens: dict[str, str] = {}
    for token, role in parse_keys(path.read_text(encoding="utf-8"), str(path)).items():
        tokens.setdefault(role, token)
    missing = [r for r in ("case-system", "archivist", "publisher") if r not in tokens and "admin" not in tokens]
    if missing:
        raise ValueError(f"{path}: no token for {', '.join(missing)}")
    return {r: tokens.get(r) or tokens["admin"] for r in ("case-system", "archivist", "publisher")}
