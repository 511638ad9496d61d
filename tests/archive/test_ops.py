"""Operations: concurrent hand-over packages (no process state shared),
private files on the host, and no server path in what clients are told."""
from __future__ import annotations

import os
import stat
import tarfile
import threading
import time
from pathlib import Path

import bagit

from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.archive.test_sessions import make_app, sign_in
from tests.conftest import auth

ARCHIVIST = auth("archivist")
REASON = {"override_reason": "测试：纸质文书另卷归档"}


def sealed_case(client, number: str, scans: int = 1) -> dict:
    case = open_case(client, archive_number=number, decision_number=f"鞍审批许准字〔2026〕第{number[-2:]}号")
    for n in range(scans):
        resp = upload(client, case["id"], f"scan{n}.jpg", samples.scan_jpeg(text=f"{number} {n}"),
                      {"title": f"证据{n + 1}", "kind": "evidence", "date": "2026-03-02"})
        assert resp.status_code == 201, resp.get_json()
    assert client.post(f"/v1/case-files/{case['id']}/seal", json=REASON, headers=ARCHIVIST).status_code == 202
    body = wait_sealed(client, case["id"])
    assert body["status"] == "sealed", body
    return body


def test_three_concurrent_packages_of_different_case_files_are_all_valid_bags(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    cases = [sealed_case(client, f"A012-2026-Y-05{n}{n}", scans=n + 2) for n in range(3)]
    cwd = os.getcwd()
    results: dict[str, tuple] = {}
    start = threading.Barrier(3)

    def fetch(case: dict) -> None:
        own = app.test_client()
        start.wait()
        resp = own.get(f"/v1/case-files/{case['id']}/package", headers=ARCHIVIST)
        results[case["id"]] = (resp.status_code, resp.data)

    threads = [threading.Thread(target=fetch, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert os.getcwd() == cwd                                    # nobody moved the process
    for n, case in enumerate(cases):
        status, data = results[case["id"]]
        assert status == 200, data[:300]
        tar_path = tmp_path / f"{n}.tar"
        tar_path.write_bytes(data)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tmp_path / f"out{n}", filter="data")
        bag_dir = next((tmp_path / f"out{n}").iterdir())
        bag = bagit.Bag(str(bag_dir))
        bag.validate()
        assert bag.version_info == (1, 0)
        assert (bag_dir / "bagit.txt").read_text(encoding="utf-8").startswith("BagIt-Version: 1.0\n")
        assert bag.info["External-Identifier"] == case["archive_number"]
        originals = [p for p in bag.payload_files() if p.startswith("data/originals/")]
        assert len(originals) == n + 2                           # each bag holds its own case file's items
        assert bag.info["Payload-Oxum"].endswith(f".{2 * (n + 2) + 2}")  # + an EEP per item, sealed PDF, case EEP
        # The EEP's 页数 is the cover's 卷内页数; 人名 is no organisation; 立档单位 the agency.
        eep = next(bag_dir.glob("data/*.eep.xml")).read_text(encoding="utf-8")
        cover = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
        assert f"<页数>{cover['page_count']}</页数>" in eep and cover["page_count"] == n + 2
        assert "<人名>" not in eep and "<立档单位名称>鞍山市行政审批局</立档单位名称>" in eep
    os.chdir(cwd)
    app.extensions["zhifa.runtime"].close()


def test_what_the_archive_writes_is_private_to_its_user(zhifa_env, seal_p12, tmp_path):
    os.umask(0o022)                       # a typical shell's umask: the service must not rely on it
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    case = sealed_case(client, "A012-2026-Y-0601")
    assert client.get(f"/v1/case-files/{case['id']}/package", headers=ARCHIVIST).status_code == 200
    sign_in(app.test_client())            # the session key and a session row
    data_dir = Path(app.extensions["zhifa.settings"].data_dir) / "archive"
    database = tmp_path / "a.sqlite3"
    looked = 0
    for path in [data_dir, *data_dir.rglob("*"), *tmp_path.glob("a.sqlite3*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(tmp_path)} is {oct(mode)}"
        looked += 1
    assert looked > 10 and database.exists()
    blobs = app.extensions["zhifa.runtime"].blobs.root
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o400 for p in blobs.rglob("*") if p.is_file())
    app.extensions["zhifa.runtime"].close()


def test_a_failed_seal_tells_the_archivist_what_failed_without_server_paths(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    case = open_case(client, archive_number="A012-2026-Y-0701", decision_number="鞍审批许准字〔2026〕第7号")
    item = upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "证据", "kind": "evidence",
                                                                        "date": "2026-03-02"}).get_json()
    blobs = app.extensions["zhifa.runtime"].blobs
    for sha in {item["sha256"]}:
        path = blobs.path(sha)
        os.chmod(path.parent, 0o700)
        path.unlink()                      # the disk lost a stored original
    resp = client.post(f"/v1/case-files/{case['id']}/seal", json=REASON, headers=ARCHIVIST)
    bodies = [resp.get_data(as_text=True)]
    if resp.status_code == 202:
        body = wait_sealed(client, case["id"])
        assert body["status"] == "open" and body["seal"]["error"]
        bodies.append(str(body["seal"]["error"]))
    bodies.append(client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_data(as_text=True))
    bodies.append(client.get(f"/v1/case-files/{case['id']}/items/{item['id']}/original",
                             headers=ARCHIVIST).get_data(as_text=True))
    root = str(tmp_path)
    for text in bodies:
        assert root not in text and "/tmp" not in text and "blobs/" not in text, text[:500]
    app.extensions["zhifa.runtime"].close()


def test_the_sweeper_removes_only_what_no_live_writer_touched_for_a_while(tmp_path):
    from shared.blobstore import LocalBlobStore
    store = LocalBlobStore(tmp_path / "blobs")
    sha = store.put(b"kept")
    old, fresh = store.root / ".tmp-old", store.root / ".tmp-fresh"
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"y")
    dead_seal = store.root / ".seal-case-1-abc"
    (dead_seal / "sealed.pdf").parent.mkdir()
    (dead_seal / "sealed.pdf").write_bytes(b"%PDF partial")
    live_seal = store.root / ".seal-case-2-def"
    live_seal.mkdir()
    (live_seal / "sealed.pdf").write_bytes(b"%PDF being written")
    hour_ago = time.time() - 3600
    for path in (old, dead_seal / "sealed.pdf", dead_seal, live_seal):   # a live run's dir is old, its file is not
        os.utime(path, (hour_ago, hour_ago))
    assert store.sweep() == 2
    assert sorted(p.name for p in store.root.iterdir() if p.name.startswith(".")) == [".seal-case-2-def", ".tmp-fresh"]
    assert store.get(sha) == b"kept"


def test_a_seal_the_outbox_gives_up_on_reopens_the_file_with_the_reason(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    rt = app.extensions["zhifa.runtime"]
    case = open_case(client, archive_number="A012-2026-Y-0702", decision_number="鞍审批许准字〔2026〕第2号")
    assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "证据", "kind": "evidence",
                                                                        "date": "2026-03-02"}).status_code == 201
    rt.outbox.stop()
    rt.outbox.max_attempts = 0                 # as if every run so far had been killed
    rt.outbox.kick = lambda: 0                 # the request hands nothing out: the drain below decides
    assert client.post(f"/v1/case-files/{case['id']}/seal", json=REASON, headers=ARCHIVIST).status_code == 202
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["status"] == "sealing"
    rt.outbox.drain()
    body = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
    assert body["status"] == "open" and "多次中断" in body["seal"]["error"]
    actions = [e["action"] for e in client.get("/v1/audit", headers=auth("admin")).get_json()["entries"]]
    assert actions[-1] == "case_file.seal_failed"
    app.extensions["zhifa.runtime"].close()


def test_a_file_left_sealing_by_an_older_version_is_sealed_at_the_next_start_once(zhifa_env, seal_p12, tmp_path):
    from sqlalchemy import func, select, update

    from services.archive.models import CaseFile, Outbox
    from shared.db import transaction
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    case = open_case(client, archive_number="A012-2026-Y-0703", decision_number="鞍审批许准字〔2026〕第3号")
    assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "证据", "kind": "evidence",
                                                                        "date": "2026-03-02"}).status_code == 201
    sessions = app.extensions["zhifa.runtime"].case_files.sessions
    with transaction(sessions) as db:       # "sealing" with no job anywhere: what a crash left before the outbox
        db.execute(update(CaseFile).where(CaseFile.id == case["id"]).values(status="sealing", override_reason="旧版本"))
    app.extensions["zhifa.runtime"].close()
    apps = [make_app(zhifa_env, seal_p12, tmp_path) for _ in range(2)]        # two processes starting together
    body = wait_sealed(apps[0].test_client(), case["id"])
    assert body["status"] == "sealed", body
    with transaction(apps[0].extensions["zhifa.runtime"].case_files.sessions) as db:
        assert db.execute(select(func.count()).select_from(Outbox)).scalar() == 1
    for each in apps:
        each.extensions["zhifa.runtime"].close()
