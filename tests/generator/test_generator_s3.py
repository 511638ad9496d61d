"""The generator with its blobs on S3-compatible storage (moto's server as a real process,
tests/shared/s3.py), on PostgreSQL: two hosts of the service share the documents' files."""
from __future__ import annotations

from pathlib import Path

from services.cli import main as zhifa
from tests.conftest import auth
from tests.generator.test_api import example, post
from tests.shared.s3 import s3_bucket, s3_env, s3_server  # noqa: F401  (fixtures)


def test_a_document_and_its_pdf_are_stored_on_s3_and_served_by_another_host(zhifa_env, pg_url, s3_env, s3_server,
                                                                             tmp_path, capsys):
    import hashlib

    from services.generator.app import create_app
    first = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_SOFFICE_POOL_SIZE="1", **s3_env))
    second = create_app(zhifa_env(ZHIFA_DATA_DIR=tmp_path / "host-2", **s3_env))
    try:
        client = first.test_client()
        resp = post(client, {"type": "penalty_decision", "data": example("penalty_decision"), "formats": ["pdf"]})
        assert resp.status_code == 201, resp.get_json()
        doc = resp.get_json()
        pdf = client.get(f"/v1/documents/{doc['id']}/pdf?wait=30", headers=auth())
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        files = client.get(f"/v1/documents/{doc['id']}", headers=auth()).get_json()["files"]

        # The other host has no file of its own: it reads both from the bucket, byte for byte.
        other = second.test_client()
        docx = other.get(f"/v1/documents/{doc['id']}/docx", headers=auth())
        assert docx.status_code == 200 and hashlib.sha256(docx.data).hexdigest() == files["docx"]["sha256"]
        again = other.get(f"/v1/documents/{doc['id']}/pdf", headers=auth())
        assert again.data == pdf.data and hashlib.sha256(again.data).hexdigest() == files["pdf"]["sha256"]

        keys = s3_server.keys(s3_env["ZHIFA_S3_BUCKET"])
        assert sorted(k.rsplit("/", 1)[1] for k in keys) == sorted([files["docx"]["sha256"], files["pdf"]["sha256"]])
        assert all(k.startswith("zhifa/generator/") for k in keys)          # the service's own prefix
        for data_dir in (tmp_path / "var", tmp_path / "host-2"):           # nothing kept on either host's disk
            assert [p for p in Path(data_dir).rglob("*") if p.is_file() and len(p.name) == 64] == []
    finally:
        first.extensions["zhifa.runtime"].close()
        second.extensions["zhifa.runtime"].close()

    capsys.readouterr()
    assert zhifa(["fsck", "generator"]) == 0          # every blob named by a row, every row's blob there
    assert "2 blobs in s3://" in capsys.readouterr().out
