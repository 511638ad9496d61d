"""Archive figures: a realistic case file of about 300 pages.

20 documents (1–4 pages of Chinese text each, drawn with fpdf2 and added as
uploaded PDFs: the generator's own cost is bench/generator.py's business),
250 scanned A4 pages as 300-dpi JPEGs, 2 audio files. Measures the time to
add everything, to assemble and seal (the job), and to verify the sealed
file, and the peak memory of the process doing it; baseline in the same
run: the same pages merged with plain pikepdf and signed with a bare
pyHanko signature.

    .venv/bin/python bench/archive.py [--scans 250] [--documents 20] [--profile FILE] [--keep FILE] [--seal-algorithm sm2]
                                      [--blobs local|s3|both]

--profile writes a cProfile of the seal job (run in the jobs' thread) to FILE;
--keep copies the sealed PDF to FILE, to look at its pages (pdftoppm);
--seal-algorithm sm2 seals with the 国密 profile (the baseline stays a bare RSA signature).
Also measured: building the hand-over package (the 卷's EEP and one EEP per 件).
--blobs s3 keeps the blobs on S3 (moto's server started here: what the archive's side costs,
temp copies for pikepdf included, not what a real S3 takes); both: local, then S3, in this run.

Targets (issue 5): assemble + seal within 2x the baseline, peak memory
under 500 MB, verify under 1 s.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-archivist-token-0123456789abcdef"


def make_samples(directory: Path, documents: int, scans: int) -> list[tuple[Path, dict]]:
    from fpdf import FPDF
    from PIL import Image, ImageDraw
    from tests.archive.samples import wav
    font = ROOT / "build" / "fonts" / "NotoSerifCJKsc-Regular.otf"
    files = []
    rng = random.Random(7)
    for n in range(documents):
        pdf = FPDF(format="A4")
        pdf.add_font("serif", "", str(font))
        pdf.set_font("serif", size=16)
        for _ in range(1 + n % 4):
            pdf.add_page()
            pdf.multi_cell(0, 10, "鞍山市行政审批局行政处罚决定书。" * 40)
        path = directory / f"doc{n:02d}.pdf"
        pdf.output(str(path))
        files.append((path, {"title": f"文书{n + 1}", "kind": "document", "date": "2026-03-01",
                             "author": "鞍山市行政审批局", "number": f"鞍审批罚字〔2026〕第{n + 1}号"}))
    base = Image.new("L", (2480, 3508), 250)
    draw = ImageDraw.Draw(base)
    for y in range(300, 3300, 60):          # lines of "text": a scan compresses like a page of writing
        draw.rectangle([250, y, 250 + rng.randint(1200, 2000), y + 22], fill=40)
    for n in range(scans):
        img = base.copy()
        ImageDraw.Draw(img).text((300, 150), f"page {n + 1}", fill=0)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, dpi=(300, 300))
        path = directory / f"scan{n:03d}.jpg"
        path.write_bytes(out.getvalue())
        files.append((path, {"title": f"现场照片{n + 1}", "kind": "evidence", "date": "2026-03-02",
                             "author": "执法监督科"}))
    for n in range(2):
        path = directory / f"audio{n}.wav"
        path.write_bytes(wav(120, 16000))
        files.append((path, {"title": f"询问录音{n + 1}", "kind": "evidence", "date": "2026-03-03",
                             "author": "执法监督科"}))
    return files


def run(directory: str, files: list, queue, profile: str | None = None, keep: str | None = None,
        algorithm: str = "rsa", s3_env: dict | None = None) -> None:
    """In a fresh process: the archive's work, then the baseline; reports timings and peak RSS."""
    from contextlib import ExitStack
    os.environ.update(ZHIFA_DATA_DIR=str(Path(directory) / "var"), ZHIFA_API_KEYS=f"{TOKEN}=archivist",
                      ZHIFA_GENERATOR_URL="http://127.0.0.1:9", ZHIFA_GENERATOR_TOKEN="unused",
                      ZHIFA_SEAL_ALGORITHM=algorithm, **(s3_env or {}))
    paths = ExitStack()                    # files for pikepdf and the verifier (temp copies when on S3)
    from shared import config
    from services.archive.app import create_app
    app = create_app(config.load())
    client = app.test_client()
    rt = app.extensions["zhifa.runtime"]
    started = time.perf_counter()
    rt.warm(background=False)              # as `zhifa serve` / `zhifa worker` do when they start
    warm_seconds = time.perf_counter() - started
    auth = {"Authorization": f"Bearer {TOKEN}"}
    case = client.post("/v1/case-files", headers=auth, json={
        "archive_number": "A012-2026-30-9001", "fonds": "A012", "fonds_name": "鞍山市行政审批局",
        "title": "基准测试案卷", "case_type": "penalty", "party": {"kind": "organization", "name": "某公司"},
        "decision_number": "鞍审批罚字〔2026〕第1号", "handling_unit": "执法监督科", "opened_on": "2026-01-05",
        "closed_on": "2026-03-20", "retention": "30年", "compiled_by": "王敏", "checked_by": "李强"}).get_json()
    started = time.perf_counter()
    for path, meta in files:
        with open(path, "rb") as fh:
            resp = client.post(f"/v1/case-files/{case['id']}/items", headers=auth, content_type="multipart/form-data",
                               data={"file": (fh, Path(path).name), "meta": json.dumps(meta, ensure_ascii=False)})
        assert resp.status_code == 201, resp.get_json()
    add_seconds = time.perf_counter() - started
    cf = rt.case_files.get(case["id"])
    profiler = None
    if profile:                            # the job runs in the jobs' thread: profile it there
        import cProfile
        profiler = cProfile.Profile()
        job = rt.seals.run
        rt.seals.run = lambda *a: profiler.runcall(job, *a)
    started = time.perf_counter()
    rt.seals.request(case["id"], {"override_reason": "基准测试"}, "bench")
    rt.jobs.shutdown(wait=True)            # the inline job runs to its end
    seal_seconds = time.perf_counter() - started
    if profiler:
        profiler.dump_stats(profile)
    cf = rt.case_files.get(case["id"])
    assert cf.status == "sealed", cf.seal_error
    sealed = paths.enter_context(rt.blobs.local_path(cf.sealed_sha256))
    if keep:
        import shutil
        shutil.copyfile(sealed, keep)
    started = time.perf_counter()
    result = rt.verifier.verify(sealed)
    verify_seconds = time.perf_counter() - started
    assert result["valid"] and result["ledger"]["found"]
    http_seconds = verify_over_http(app, sealed)
    http_cpu = verify_over_http.cpu
    raw_seconds = verify_over_http(app, sealed, raw=True)
    started = time.perf_counter()
    package, _ = rt.packages.package(case["id"])
    package_seconds = time.perf_counter() - started
    package_mb = package.stat().st_size / 2**20
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Baseline: the same page PDFs merged with plain pikepdf, signed with a bare pyHanko signature.
    import pikepdf
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    renditions = [paths.enter_context(rt.blobs.local_path(i.pdf_sha256)) for item_set in [rt.case_files.bound_items(cf)] for i, _, _ in item_set
                  if i.pdf_sha256]
    started = time.perf_counter()
    merged = pikepdf.new()
    sources = [pikepdf.open(p) for p in renditions]
    for src in sources:
        merged.pages.extend(src.pages)
    base_path = Path(directory) / "baseline.pdf"
    merged.save(base_path)
    for src in sources:
        src.close()
    with open(base_path, "rb") as inf, open(Path(directory) / "baseline-signed.pdf", "wb") as outf:
        signers.sign_pdf(IncrementalPdfFileWriter(inf), signers.PdfSignatureMetadata(field_name="Sig"),
                         signer=rt.key.signer(), output=outf)
    baseline_seconds = time.perf_counter() - started
    queue.put({"items": len(files), "pages": cf.pages, "sealed_mb": round(cf.sealed_bytes / 2**20, 1),
               "warm_s_once_per_process": round(warm_seconds, 2), "add_s": round(add_seconds, 2), "assemble_seal_s": round(seal_seconds, 2),
               "baseline_merge_sign_s": round(baseline_seconds, 2),
               "ratio": round(seal_seconds / baseline_seconds, 2), "verify_s": round(verify_seconds, 3),
               "verify_http_s": [round(s, 3) for s in http_seconds],
               "verify_http_cpu_s": [round(s, 3) for s in http_cpu],
               "verify_http_pdf_body_s": [round(s, 3) for s in raw_seconds],
               "verify_http_pdf_body_cpu_s": [round(s, 3) for s in verify_over_http.cpu],
               "package_s": round(package_seconds, 2), "package_mb": round(package_mb, 1),
               "seal_algorithm": algorithm, "blobs": rt.blobs.describe().split(":")[0] if s3_env else "local",
               "peak_rss_mb": round(peak_mb)})
    paths.close()
    rt.close()


def verify_over_http(app, sealed: Path, runs: int = 3, expect_valid: bool = True, raw: bool = False) -> list[float]:
    """POST /v1/verify of the sealed file to the app served by waitress
    (shared.web.serve, as `zhifa serve`), streamed from disk as a client
    would (multipart `file`, or `raw`: the PDF as an application/pdf body):
    seconds from the first byte sent to the answer read, per run."""
    import http.client
    import queue
    import threading
    from shared.web import serve
    bound, stop = queue.Queue(), threading.Event()
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", 0), daemon=True,
                              kwargs={"signals": False, "stop": stop, "threads": 4,
                                      "ready": lambda host, port: bound.put(port)})
    thread.start()
    port = bound.get(timeout=30)
    boundary = "zhifa-bench-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sealed.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    if raw:
        head = tail = b""
    times, cpu = [], []

    def cpu_seconds() -> float:     # this process (server and client threads) and the verifier's children
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.putrequest("POST", "/v1/verify")
        conn.putheader("Content-Type", "application/pdf" if raw else f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + sealed.stat().st_size + len(tail)))
        conn.endheaders()
        conn.send(head)
        with open(sealed, "rb") as fh:
            while chunk := fh.read(1 << 20):
                conn.send(chunk)
        conn.send(tail)
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        times.append(time.perf_counter() - started)
        cpu.append(cpu_seconds() - cpu_started)
        conn.close()
        assert resp.status == 200 and (answer["valid"] or not expect_valid), answer
    stop.set()
    thread.join(timeout=30)
    verify_over_http.cpu = cpu       # CPU seconds per run: what a quiet machine would take at least
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--scans", type=int, default=250)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the assemble + seal step to FILE")
    parser.add_argument("--keep", metavar="FILE", help="copy the sealed PDF to FILE (to look at its pages)")
    parser.add_argument("--seal-algorithm", choices=("rsa", "sm2"), default="rsa", help="the seal profile")
    parser.add_argument("--blobs", choices=("local", "s3", "both"), default="local",
                        help="where the blobs live: files, S3 (a local moto server: the client's cost, not a "
                             "real S3's), or both, interleaved in this run")
    parser.add_argument("--rounds", type=int, default=1, help="with --blobs both: local/S3 pairs, order alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhifa-bench-archive-") as tmp:
        started = time.perf_counter()
        files = make_samples(Path(tmp), args.documents, args.scans)
        print(f"samples made in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ctx = multiprocessing.get_context("spawn")     # a fresh process: its peak RSS is the archive's own
        backends = ([b for r in range(args.rounds) for b in (("local", "s3") if r % 2 == 0 else ("s3", "local"))]
                    if args.blobs == "both" else [args.blobs])
        moto = start_moto() if "s3" in backends else None
        results = []
        try:
            for n, backend in enumerate(backends):
                queue = ctx.Queue()
                run_dir = Path(tmp) / f"run-{n}"
                run_dir.mkdir()
                proc = ctx.Process(target=run, args=(str(run_dir), [(str(p), m) for p, m in files], queue, args.profile,
                                                     args.keep, args.seal_algorithm,
                                                     moto[1] if backend == "s3" else None))
                proc.start()
                results.append(queue.get())
                proc.join()
        finally:
            if moto:
                moto[0].kill()
                moto[0].wait()
    print(f"load average {os.getloadavg()}")
    for figures in results:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        print(f"targets: assemble+seal <= 2x baseline: {'ok' if figures['ratio'] <= 2 else 'MISSED'}; "
              f"peak < 500 MB: {'ok' if figures['peak_rss_mb'] < 500 else 'MISSED'}; "
              f"verify < 1 s: {'ok' if figures['verify_s'] < 1 else 'MISSED'}; "
              f"verify over HTTP <= 1.5 s: {'ok' if min(figures['verify_http_s']) <= 1.5 else 'MISSED'} "
              f"(application/pdf body: {'ok' if min(figures['verify_http_pdf_body_s']) <= 1.5 else 'MISSED'})")
    if len({f["blobs"] for f in results}) > 1:
        import statistics
        for key in ("add_s", "assemble_seal_s", "baseline_merge_sign_s", "package_s", "peak_rss_mb"):
            print(f"{key}: " + ", ".join(f"{b} {statistics.median(f[key] for f in results if f['blobs'] == b)}"
                                         for b in ("local", "s3")) + f" (median of {args.rounds})")


def start_moto():
    """moto's S3 server on a free loopback port and a bucket on it: (process, ZHIFA_S3_* variables)."""
    import socket
    import subprocess
    import boto3
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"ZHIFA_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "ZHIFA_S3_BUCKET": "zhifa-bench",
           "ZHIFA_S3_ACCESS_KEY_ID": "bench", "ZHIFA_S3_SECRET_ACCESS_KEY": "bench", "ZHIFA_S3_REGION": "us-east-1"}
    client = boto3.client("s3", endpoint_url=env["ZHIFA_S3_ENDPOINT_URL"], aws_access_key_id="bench",
                          aws_secret_access_key="bench", region_name="us-east-1")
    deadline = time.monotonic() + 60
    while True:
        try:
            client.create_bucket(Bucket="zhifa-bench")
            return proc, env
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    main()
