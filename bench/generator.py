"""Generator benchmark: prints figures, not assertions.

In-process, SQLite in a temp dir, the real LibreOffice pool:
  1. DOCX alone: the product path (validate, rules, deadlines, number,
     render, store, register) per document;
  2. DOCX+PDF, one client: until the PDF can be fetched (number and DOCX
     committed, then the PDF made from the stored DOCX);
  3. DOCX+PDF, two clients at once (the pool's two LibreOffice processes);
  4. the baseline a clerk's script would be: docxtpl + a cold
     `soffice --convert-to pdf` per document; and, as a reference measured by
     the review (not in this run), Carbone with its own warm LibreOffice:
     105 ms per document DOCX+PDF, 22 ms DOCX alone on the same template.

Side by side with Carbone (run first, `--versus N`, 0 to skip):
  0. the same Word template (ours, rendered with the example data) to PDF, one
     document at a time, alternating: Carbone 3 (installed with npm into a
     temporary folder for this run only; its own warm LibreOffice; no PDF/A,
     no numbering) and zhifa's `POST /v1/documents` over HTTP to a served
     generator with embedded defaults (SQLite, inline jobs) until the PDF has
     been fetched (`GET …/pdf`). Prints p50/p95 of each and the ratio, and
     the CPU each one's processes spent a document (zhifa's server and its
     LibreOffice; node, Carbone's converter and its LibreOffice): on a shared
     machine latency follows the load, CPU much less.
     Carbone renders the DOCX zhifa made for the first request, with the
     document number swapped for a Carbone tag ({d.number}), so both produce
     the same pages and both substitute data. `--carbone-dir DIR` reuses an
     npm folder that already holds carbone; `--compare CHECKOUT` adds the
     generator served from another checkout (before/after in one run).

Served (with --database-url postgresql+psycopg://… and --redis-url redis://…):
  5. a batch of one kind and a batch of mixed kinds through two RQ workers
     (`zhifa worker`), until every PDF exists;
  6. 40 concurrent HTTP requests of one kind (DOCX+PDF) to `zhifa serve`:
     p50/p95/p99 latency;
  7. peak memory (VmHWM) of the server, each worker and their LibreOffice.

Usage: .venv/bin/python bench/generator.py [--versus N] [--versus-only] [--carbone-dir DIR] [--docx N] [--pdf N] [--baseline N] [--type TYPE]
          [--database-url URL --redis-url URL [--batch N] [--concurrent N]]
"""
from __future__ import annotations

import argparse
import copy
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import config  # noqa: E402

CARBONE_REFERENCE_MS = {"docx+pdf": 105, "docx": 22}
TOKEN = "bench-case-system-token-0123456789abcdef"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50) * 1000:.0f} ms, p95 {percentile(values, 95) * 1000:.0f} ms, "
            f"p99 {percentile(values, 99) * 1000:.0f} ms")


def example(catalogue, doc_type: str) -> dict:
    return copy.deepcopy(catalogue.get(doc_type).example)


def in_process(args) -> None:
    from docxtpl import DocxTemplate

    from services.generator import runtime
    from services.generator.pdf import convert_with_soffice_cli
    from services.generator.rendering import JINJA_ENV
    from shared.fonts import install_fonts

    settings = config.load()
    rt = runtime.build(settings)
    docs = rt.documents
    doc_type = docs.catalogue.get(args.type)
    body = {"type": args.type, "data": example(docs.catalogue, args.type)}

    def issue(formats: tuple[str, ...]) -> float:
        started = time.perf_counter()
        doc, _ = docs.issue(docs.prepare({**body, "formats": list(formats)}), "bench")
        if "pdf" in formats:
            rt.renditions.make(doc.id)
        return time.perf_counter() - started

    print(f"zhifa generator benchmark — {args.type} ({doc_type.title}), {os.cpu_count()} cores, "
          f"pool size {settings.soffice_pool_size}")
    issue(("docx",))   # warm imports and the database
    started = time.perf_counter()
    docx_lat = [issue(("docx",)) for _ in range(args.docx)]
    docx_rate = args.docx / (time.perf_counter() - started)
    print(f"1. DOCX only:                 {docx_rate:7.1f} docs/s  (n={args.docx}; {ms(docx_lat)})")

    rt.pdf.pool().warm()
    for _ in range(3):
        issue(("docx", "pdf"))   # first conversions of each process are slower; not counted
    started = time.perf_counter()
    pdf_lat = [issue(("docx", "pdf")) for _ in range(args.pdf)]
    pdf_rate = args.pdf / (time.perf_counter() - started)
    print(f"2. DOCX+PDF, one client:      {pdf_rate:7.2f} docs/s  (n={args.pdf}; until the PDF can be fetched: "
          f"{ms(pdf_lat)})")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as clients:
        both = list(clients.map(lambda _: issue(("docx", "pdf")), range(args.pdf)))
    both_rate = args.pdf / (time.perf_counter() - started)
    print(f"3. DOCX+PDF, two clients:     {both_rate:7.2f} docs/s  (n={args.pdf}; {1000 / both_rate:.0f} ms "
          f"per document; each request {ms(both)})")

    fonts_conf = install_fonts(settings.fonts_dir)
    chosen = docs.agencies.choose(None)
    context = {**body["data"], "number": "鞍审批罚决字〔2026〕第1号", "issued_on": "2026年11月16日",
               "doc_title": doc_type.title, "deadlines": {k: "2026年12月1日" for k in doc_type.deadlines},
               "remedy_clause": "（救济途径）", "verification_code": "ABCDEFGH", "verify_url": "https://example",
               "verify_page": "https://example", "verify_qr": "", "agency": chosen.for_document(None, doc_type.seal)}
    workdir = Path(tempfile.mkdtemp(prefix="zhifa-baseline-"))
    base_lat = []
    started = time.perf_counter()
    for i in range(args.baseline):
        t0 = time.perf_counter()
        tpl = DocxTemplate(str(doc_type.template_path))
        tpl.render(context, jinja_env=JINJA_ENV)
        out = workdir / f"baseline-{i}.docx"
        tpl.save(str(out))
        convert_with_soffice_cli(out.read_bytes(), fonts_conf, workdir / "soffice")
        base_lat.append(time.perf_counter() - t0)
    base_rate = args.baseline / (time.perf_counter() - started)
    print(f"4. baseline, docxtpl + soffice --convert-to per document: {base_rate:5.2f} docs/s  "
          f"(n={args.baseline}; {ms(base_lat)})")
    print(f"   ratio one client / baseline: {pdf_rate / base_rate:.1f}x throughput, "
          f"{percentile(base_lat, 50) / percentile(pdf_lat, 50):.1f}x lower p50 latency")
    print(f"   reference (review, not this run): Carbone {CARBONE_REFERENCE_MS['docx+pdf']} ms per document "
          f"DOCX+PDF, {CARBONE_REFERENCE_MS['docx']} ms DOCX alone; zhifa here: "
          f"{percentile(pdf_lat, 50) * 1000:.0f} ms one client (p50), {1000 / both_rate:.0f} ms per document "
          f"with two clients, {percentile(docx_lat, 50) * 1000:.0f} ms DOCX alone (p50)")
    rt.close()


# ---- side by side with Carbone ---------------------------------------------------------------------

# Reads a line per render on stdin and answers one JSON line: the time Carbone's
# own render() took (template to PDF buffer), measured inside node.
CARBONE_DRIVER = r"""
const carbone = require(process.argv[2]);
const fs = require('fs');
const template = process.argv[3];
const data = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
carbone.set({factories: 1, startFactory: true});   // starts LibreOffice now (no callback)
process.stdout.write(JSON.stringify({ready: true}) + '\n');
const rl = require('readline').createInterface({input: process.stdin});
rl.on('line', (line) => {
  const t0 = process.hrtime.bigint();
  carbone.render(template, data, {convertTo: 'pdf'}, (err, result) => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!err && line.startsWith('save:')) fs.writeFileSync(line.slice(5), result);   // for checking
    const answer = err ? {error: String(err)}
      : {ms, bytes: result.length, pdf: result.subarray(0, 5).toString() === '%PDF-'};
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
rl.on('close', () => process.exit(0));
"""


class CarboneUnavailable(Exception):
    pass


def install_carbone(folder: Path) -> Path:
    """`npm install carbone` into a throwaway folder: a bench tool, not a dependency."""
    module = folder / "node_modules" / "carbone"
    if module.is_dir():
        return module
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise CarboneUnavailable(f"{tool} is not on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"name": "zhifa-bench-carbone", "private": true}')
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "carbone"], cwd=folder,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not module.is_dir():
        raise CarboneUnavailable(f"npm install carbone failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return module


class Carbone:
    """Carbone in a node process of its own, its LibreOffice started once and kept."""

    def __init__(self, module: Path, template: Path, data: dict, fonts_conf: Path):
        folder = template.parent
        (folder / "driver.js").write_text(CARBONE_DRIVER)
        (folder / "data.json").write_text(json.dumps(data, ensure_ascii=False))
        # Carbone looks for soffice.bin on PATH and then for a python3 with uno
        # (Debian's); the same fonts as zhifa's pool so both lay out the same pages.
        env = {**os.environ, "PATH": "/usr/lib/libreoffice/program:/usr/bin:/bin",
               "FONTCONFIG_FILE": str(fonts_conf)}
        self.proc = subprocess.Popen(["node", str(folder / "driver.js"), str(module), str(template),
                                      str(folder / "data.json")], cwd=folder, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line or not json.loads(line).get("ready"):
            raise CarboneUnavailable(f"Carbone's LibreOffice did not start (exit {self.proc.poll()})")

    def render(self, save_to: Path | None = None) -> float:
        self.proc.stdin.write(f"save:{save_to}\n" if save_to else "render\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"error": "node exited"}')
        if "error" in answer:
            raise CarboneUnavailable(f"Carbone render failed: {answer['error']}")
        assert answer["pdf"], answer
        return answer["ms"] / 1000

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # its soffice.bin and python
        except ProcessLookupError:
            pass


class Client:
    """One keep-alive HTTP connection, as a case system's client would hold."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers={**self.headers, **(headers or {})})
        resp = self.conn.getresponse()
        self.last_headers = resp.headers
        return resp.status, resp.read()


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU of a process and its live descendants (a server and its
    LibreOffice; node, Carbone's converter and its LibreOffice). On a machine
    shared with other work a document's latency follows the CPU it needs, so
    this figure is the one the load does not blur."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # fields[0] is the state (field 3 of proc(5))
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def carbone_template(docx: bytes, number: str, folder: Path) -> Path:
    """zhifa's rendered DOCX with its document number as a Carbone tag."""
    with zipfile.ZipFile(io.BytesIO(docx)) as src:
        parts = {info: src.read(info.filename) for info in src.infolist()}
    out = folder / "template.docx"
    swapped = False
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, content in parts.items():
            if info.filename == "word/document.xml" and number.encode() in content:
                content, swapped = content.replace(number.encode(), b"{d.number}"), True
            dst.writestr(info, content)
    if not swapped:
        raise CarboneUnavailable("the rendered DOCX does not carry the document number in one run")
    return out


class ZhifaServer:
    """`zhifa serve generator` from a checkout (this one, or --compare's), embedded
    defaults: SQLite in a temp dir, inline jobs, the default LibreOffice pool."""

    def __init__(self, root: Path, body: dict, documents: int = 0):
        self.root, self.body = root, body
        self.data_dir = Path(tempfile.mkdtemp(prefix="zhifa-bench-versus-"))
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k == "ZHIFA_FONTS_DIR"}
        env.update(ZHIFA_DATA_DIR=str(self.data_dir), ZHIFA_API_KEYS=f"{TOKEN}=case-system",
                   ZHIFA_GENERATOR_URL=self.base, ZHIFA_LOG_LEVEL="WARNING", PYTHONPATH=str(root))
        if documents:
            # No LibreOffice recycled (every 100 conversions by default) within the run: a process
            # that exits takes its CPU figure with it.
            env["ZHIFA_SOFFICE_RECYCLE_AFTER"] = str(documents + 50)
        # cwd is the checkout: `python -m` puts it first on sys.path.
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "generator", "--port", str(port)],
                                     env=env, cwd=root)
        self.client: Client | None = None

    def ready(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(self.base + "/readyz", timeout=2).status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.3)
        self.client = Client(self.base)

    def document(self) -> tuple[float, dict | None]:
        """Seconds from POST until the PDF has been fetched, and the document's JSON (None when the
        PDF came back in the POST's answer: `Accept: application/pdf`, one round trip; a checkout
        from before that answers JSON, and the PDF is then fetched with a second request)."""
        t0 = time.perf_counter()
        status, answer = self.client.request("POST", "/v1/documents", self.body, {"Accept": "application/pdf"})
        assert status == 201, (status, answer[:300])
        doc = None
        if not answer.startswith(b"%PDF-"):
            doc = json.loads(answer)
            assert doc["files"]["pdf"]["status"] == "done", doc
            status, answer = self.client.request("GET", f"/v1/documents/{doc['id']}/pdf")
            assert status == 200 and answer.startswith(b"%PDF-"), status
        return time.perf_counter() - t0, doc

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def versus_carbone(args) -> None:
    from services.generator.catalogue import Catalogue
    from shared.fonts import install_fonts

    body = {"type": args.type, "data": example(Catalogue(), args.type)}
    fonts_conf = install_fonts(config.load().fonts_dir)
    roots = [ROOT] + [Path(r).resolve() for r in args.compare or []]
    servers = [ZhifaServer(root, body, documents=args.versus) for root in roots]
    carbone = None
    try:
        for server in servers:
            server.ready()
            for _ in range(5):   # also waits for the pool's LibreOffice
                server.document()
        status, answer = servers[0].client.request("POST", "/v1/documents", body)
        first = json.loads(answer)
        status, docx = servers[0].client.request("GET", f"/v1/documents/{first['id']}/docx")
        assert status == 200
        try:
            module = install_carbone(Path(args.carbone_dir) if args.carbone_dir
                                     else Path(tempfile.mkdtemp(prefix="zhifa-bench-carbone-")))
            folder = Path(tempfile.mkdtemp(prefix="zhifa-bench-carbone-run-"))
            carbone = Carbone(module, carbone_template(docx, first["number"], folder),
                              {"number": first["number"]}, fonts_conf)
            for _ in range(5):   # its first conversions are slower too
                carbone.render()
            # Carbone substituted its tag: the number is printed where zhifa printed it.
            carbone.render(save_to=folder / "check.pdf")
            printed = subprocess.run(["pdftotext", str(folder / "check.pdf"), "-"], capture_output=True,
                                     text=True, check=True).stdout
            assert first["number"] in "".join(printed.split()) and "{d." not in printed, "Carbone left its tag"
        except (CarboneUnavailable, OSError, subprocess.SubprocessError) as exc:
            print(f"0. Carbone could not run here: {exc}")
            carbone = None

        # Alternate one document each, so all see the same load on a shared machine.
        ours: list[list[float]] = [[] for _ in servers]
        theirs: list[float] = []
        pids = [server.proc.pid for server in servers] + ([carbone.proc.pid] if carbone else [])
        cpu_before = [tree_cpu_seconds(pid) for pid in pids]
        for _ in range(args.versus):
            for server, times in zip(servers, ours):
                times.append(server.document()[0])
            if carbone:
                theirs.append(carbone.render())
        cpu = [(tree_cpu_seconds(pid) - before) / args.versus * 1000 for pid, before in zip(pids, cpu_before)]
        print(f"0. {args.type}, one document at a time (n={args.versus} each, alternating; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        for server, times, spent in zip(servers, ours, cpu):
            name = "zhifa" if server.root == ROOT else f"zhifa at {server.root}"
            print(f"   {name}, POST /v1/documents over HTTP until the PDF/A is fetched, numbered and registered: "
                  f"p50 {percentile(times, 50) * 1000:.0f} ms, p95 {percentile(times, 95) * 1000:.0f} ms, "
                  f"CPU {spent:.0f} ms a document (server and its LibreOffice)"
                  + (f"; ratio Carbone / this: p50 {percentile(theirs, 50) / percentile(times, 50):.2f}x, "
                     f"p95 {percentile(theirs, 95) / percentile(times, 95):.2f}x, CPU {cpu[-1] / spent:.2f}x"
                     if theirs else ""))
        if theirs:
            print(f"   Carbone, render() to a PDF buffer in node (warm LibreOffice, no PDF/A, no numbering): "
                  f"p50 {percentile(theirs, 50) * 1000:.0f} ms, p95 {percentile(theirs, 95) * 1000:.0f} ms, "
                  f"CPU {cpu[-1]:.0f} ms a document (node, its converter and LibreOffice) "
                  f"(ratio above 1: zhifa is faster)")
    finally:
        if carbone:
            carbone.close()
        for server in servers:
            server.stop()


# ---- served: zhifa serve + zhifa worker on PostgreSQL and Redis ------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, timeout: float = 120) -> tuple[int, dict]:
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def peak_memory_mb(pid: int) -> float:
    """VmHWM of a process plus its LibreOffice (soffice.bin) descendants' peaks."""
    def hwm(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0
    return hwm(pid)


def soffice_peaks_mb(owner: int) -> list[float]:
    """Peak memory of each soffice.bin started by `owner` (its group leader, the
    pool's guard, is owner's child)."""
    peaks = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() != "soffice.bin":
                    continue
                guard = os.getpgid(int(entry.name))
                parent = int(Path(f"/proc/{guard}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            if parent == owner:
                peaks.append(peak_memory_mb(int(entry.name)))
    return peaks


def memory(name: str, pid: int) -> str:
    office = soffice_peaks_mb(pid)
    return f"{name} {peak_memory_mb(pid):.0f} MB (+ LibreOffice " + (", ".join(f"{m:.0f}" for m in office) or "-") + " MB)"


def served(args) -> None:
    from services.generator.catalogue import Catalogue
    catalogue = Catalogue()
    data_dir = Path(tempfile.mkdtemp(prefix="zhifa-bench-served-"))
    port = free_port()
    env = {**os.environ, "ZHIFA_DATA_DIR": str(data_dir), "ZHIFA_API_KEYS": f"{TOKEN}=case-system",
           "ZHIFA_GENERATOR_DATABASE_URL": args.database_url, "ZHIFA_REDIS_URL": args.redis_url,
           "ZHIFA_GENERATOR_URL": f"http://127.0.0.1:{port}", "ZHIFA_DEPLOYMENT": f"bench{port}",
           "ZHIFA_LOG_LEVEL": "WARNING"}
    zhifa = [sys.executable, "-m", "services.cli"]
    server = subprocess.Popen(zhifa + ["serve", "generator", "--port", str(port), "--threads", "48"],
                              env={**env, "ZHIFA_SOFFICE_POOL_SIZE": "2"}, cwd=ROOT)
    worker_log = open(data_dir / "workers.log", "ab")   # RQ logs every job at INFO
    workers = [subprocess.Popen(zhifa + ["worker", "generator"], env={**env, "ZHIFA_SOFFICE_POOL_SIZE": "1"},
                                cwd=ROOT, stdout=worker_log, stderr=subprocess.STDOUT) for _ in range(2)]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(base + "/readyz", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        time.sleep(15)   # the server's and workers' LibreOffice warm up in the background
        print("served on PostgreSQL + Redis: zhifa serve (pool 2) and two `zhifa worker` (pool 1 each)")

        def batch(kinds: list[str]) -> float:
            entries = [{"type": kinds[i % len(kinds)], "data": example(catalogue, kinds[i % len(kinds)])}
                       for i in range(args.batch)]
            started = time.perf_counter()
            status, answer = call(base, "POST", "/v1/batches", {"documents": entries})
            assert status == 202, answer
            while True:
                _, state = call(base, "GET", answer["status_url"].replace(base, ""))
                if state["status"] in ("done", "partial", "failed"):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            numbers = [d["number"] for d in state["documents"]]
            assert state["done"] == args.batch and len(set(numbers)) == args.batch, state["status"]
            return args.batch / elapsed

        one = batch([args.type])
        print(f"5. batch of {args.batch}, one kind, two workers:    {one:6.2f} docs/s (every PDF made)")
        mixed = batch([args.type, "rectification_order", "license_grant_decision", "hearing_notice"])
        print(f"   batch of {args.batch}, four kinds, two workers:  {mixed:6.2f} docs/s (every PDF made)")

        body = {"type": args.type, "data": example(catalogue, args.type)}
        latencies: list[float] = []
        lock = threading.Lock()

        def request(_):
            t0 = time.perf_counter()
            status, doc = call(base, "POST", "/v1/documents", body)
            assert status == 201 and doc["files"]["pdf"]["status"] == "done", doc
            with lock:
                latencies.append(time.perf_counter() - t0)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrent) as clients:
            list(clients.map(request, range(args.concurrent)))
        total = time.perf_counter() - started
        print(f"6. {args.concurrent} concurrent requests, one kind, DOCX+PDF: {ms(latencies)}; "
              f"all done in {total:.1f} s ({args.concurrent / total:.2f} docs/s)")
        print("7. peak memory: " + "; ".join([memory("server", server.pid)]
                                             + [memory(f"worker {i + 1}", w.pid) for i, w in enumerate(workers)]))
    finally:
        for proc in [server, *workers]:
            proc.send_signal(signal.SIGTERM)
        for proc in [server, *workers]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docx", type=int, default=200, help="documents for the DOCX-only run")
    parser.add_argument("--pdf", type=int, default=40, help="documents for each DOCX+PDF run")
    parser.add_argument("--baseline", type=int, default=8, help="documents for the soffice-per-document baseline")
    parser.add_argument("--type", default="penalty_decision")
    parser.add_argument("--versus", type=int, default=40, help="documents each for zhifa and Carbone (0: skip)")
    parser.add_argument("--versus-only", action="store_true", help="run only the side-by-side comparison")
    parser.add_argument("--carbone-dir", help="an npm folder that holds carbone (default: a new temporary one)")
    parser.add_argument("--compare", action="append", metavar="CHECKOUT",
                        help="also serve the generator from another checkout (e.g. before a change), alternating")
    parser.add_argument("--database-url", help="PostgreSQL URL for the served runs (5-7)")
    parser.add_argument("--redis-url", help="Redis URL for the served runs (5-7)")
    parser.add_argument("--batch", type=int, default=200, help="documents per batch in run 5")
    parser.add_argument("--concurrent", type=int, default=40, help="concurrent requests in run 6")
    args = parser.parse_args()

    # A stopped bench (timeout, kill) still stops the servers and LibreOffices it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="zhifa-bench-"))
    for name in [n for n in os.environ if n.startswith("ZHIFA_") and n != "ZHIFA_FONTS_DIR"]:
        os.environ.pop(name)
    os.environ.update(ZHIFA_DATA_DIR=str(workdir / "var"), ZHIFA_API_KEYS=f"{TOKEN}=case-system")
    if args.versus:
        versus_carbone(args)
    if args.versus_only:
        return 0
    in_process(args)
    if args.database_url and args.redis_url:
        served(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
