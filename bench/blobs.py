"""The blob store's two backends: a large blob in (put_file: an upload spooled to disk, as the
archive stores it) and out (iter_chunks: a download), MB/s and peak Python memory.

Prints, per round and size, interleaved in the same run (the machine is shared):
  1. the local store (the baseline: what every service used before S3);
  2. the S3 store against a local S3-compatible server started here (moto's server
     mode; a stand-in, so its figures say what the client side costs, not what a
     real S3 or MinIO would take);
then the median time of one 40 KB put (a generated DOCX), and os.getloadavg() with the figures. Peak memory is tracemalloc's traced peak:
a store that held a blob whole would show its size.

Usage: .venv/bin/python bench/blobs.py [--mb 50 200] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.blobstore import LocalBlobStore, S3BlobStore  # noqa: E402


def start_moto(port: int) -> subprocess.Popen:
    import boto3
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="bench",
                          aws_secret_access_key="bench", region_name="us-east-1")
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_buckets()
            return proc
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def measure(store, source: Path) -> tuple[float, float, float]:
    """(MB/s in, MB/s out, peak MB of Python memory) for one blob; the blob is deleted afterwards."""
    size = source.stat().st_size / 2 ** 20
    tracemalloc.start()
    t0 = time.perf_counter()
    sha, _ = store.put_file(source)
    t1 = time.perf_counter()
    for _chunk in store.iter_chunks(sha):
        pass
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    store.delete(sha)
    return size / (t1 - t0), size / (t2 - t1), peak


def small_puts(store, n: int, size: int = 40 * 1024) -> float:
    """Median ms to store one generated-document-sized blob (put(bytes), as the generator does)."""
    times = []
    for _ in range(n):
        data = os.urandom(size)
        t0 = time.perf_counter()
        sha = store.put(data)
        times.append((time.perf_counter() - t0) * 1000)
        store.delete(sha)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--small", type=int, default=50, help="40 KB puts per store and round")
    args = parser.parse_args()
    moto = start_moto(args.port)
    try:
        with tempfile.TemporaryDirectory(prefix="zhifa-bench-blobs-") as tmp:
            tmp = Path(tmp)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            s3 = S3BlobStore(bucket, "bench/", tmp / "scratch", endpoint_url=f"http://127.0.0.1:{args.port}",
                             access_key_id="bench", secret_access_key="bench", region="us-east-1")
            s3.client.create_bucket(Bucket=bucket)
            stores = {"local": LocalBlobStore(tmp / "blobs"), "s3 (moto)": s3}
            results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
            for mb in args.mb:
                source = tmp / f"{mb}.bin"
                with open(source, "wb") as out:
                    for _ in range(mb):
                        out.write(os.urandom(2 ** 20))
                for r in range(args.rounds):
                    for name, store in (stores.items() if r % 2 == 0 else reversed(stores.items())):
                        results.setdefault((name, mb), []).append(measure(store, source))
                source.unlink()
            small: dict[str, list[float]] = {}
            for r in range(args.rounds):
                for name, store in (stores.items() if r % 2 == 0 else reversed(stores.items())):
                    small.setdefault(name, []).append(small_puts(store, args.small))
            print(f"load average {os.getloadavg()}")
            print(f"{'store':<10} {'MB':>5} {'in MB/s':>9} {'out MB/s':>9} {'peak MB':>8}  (median of {args.rounds})")
            for (name, mb), rows in results.items():
                med = [statistics.median(col) for col in zip(*rows)]
                print(f"{name:<10} {mb:>5} {med[0]:>9.1f} {med[1]:>9.1f} {med[2]:>8.1f}")
            for name, ms in small.items():
                print(f"{name:<10} one 40 KB put (a generated document): {statistics.median(ms):.2f} ms median")
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    main()
