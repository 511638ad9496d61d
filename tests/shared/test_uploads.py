"""Uploads as the archive will take them: streamed to disk, hashed, limited."""
from __future__ import annotations

import hashlib
import io
import json
import os

import pytest
from flask import jsonify

from shared.uploads import parse_upload
from shared.web import create_base_app


@pytest.fixture
def client(zhifa_env, tmp_path):
    settings = zhifa_env(ZHIFA_MAX_UPLOAD_BYTES=3_000_000)
    app = create_base_app("archive", settings, {}, {}, max_body_bytes=settings.max_upload_bytes + 100_000)
    seen = {}

    @app.post("/upload")
    def upload():
        with parse_upload(tmp_path / "uploads", settings.max_upload_bytes) as form:
            up = form.file("file")
            meta = form.json_field("meta")
            seen.update(path=up.path, on_disk=up.path.read_bytes())
            return jsonify(size=up.size, sha256=up.sha256, filename=up.filename, meta=meta)
    app.seen = seen
    return app.test_client()


def test_a_file_is_streamed_to_disk_hashed_and_removed_afterwards(client, tmp_path):
    data = os.urandom(2_500_000)
    resp = client.post("/upload", data={"file": (io.BytesIO(data), "../../证据/现场照片.jpg"),
                                        "meta": json.dumps({"title": "现场照片", "kind": "evidence"})})
    assert resp.status_code == 200, resp.json
    assert resp.json == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                         "filename": "现场照片.jpg", "meta": {"title": "现场照片", "kind": "evidence"}}
    seen = client.application.seen
    assert seen["on_disk"] == data and seen["path"].parent == tmp_path / "uploads"
    assert not list((tmp_path / "uploads").iterdir())           # temp file gone after the request


def test_a_file_past_the_limit_is_a_413_and_leaves_nothing(client, tmp_path):
    resp = client.post("/upload", data={"file": (io.BytesIO(b"x" * 3_050_000), "video.mp4"), "meta": "{}"})
    assert resp.status_code == 413
    assert resp.json["errors"][0]["path"] == "file"
    assert not list((tmp_path / "uploads").iterdir())


@pytest.mark.parametrize("data, path", [({"meta": "{}"}, "file"),
                                        ({"file": (io.BytesIO(b"%PDF"), "a.pdf"), "meta": "[1"}, "meta")])
def test_a_missing_file_or_bad_meta_is_named(client, data, path):
    resp = client.post("/upload", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.json["errors"][0]["path"] == path


def test_a_json_body_is_not_an_upload(client):
    assert client.post("/upload", json={"file": "x"}).status_code == 415
