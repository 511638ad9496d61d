"""A local S3-compatible server for the S3 blob backend's tests.

It is moto's server mode (`python -m moto.server`), started as a real process on
a loopback port and spoken to over HTTP by boto3 exactly as S3 or MinIO would be:
it stands in for them because no S3 server can be installed on this machine.
Each test gets a bucket of its own, emptied and removed afterwards.

Import the fixtures into a test module: `from tests.shared.s3 import s3_server, s3_bucket, s3_env  # noqa: F401`.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

ACCESS_KEY, SECRET_KEY, REGION = "zhifa-test-key", "zhifa-test-secret", "cn-north-1"


class S3Server:
    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().list_buckets()
                return
            except Exception:
                assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)

    @property
    def options(self) -> dict:
        """S3BlobStore's keyword arguments for this server."""
        return dict(endpoint_url=self.url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, region=REGION)

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = S3Server(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    name = f"zhifa-test-{uuid.uuid4().hex[:12]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield name
    for key in s3_server.keys(name):       # the server keeps objects in memory: give it back
        client.delete_object(Bucket=name, Key=key)
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_env(s3_server, s3_bucket) -> dict:
    """The ZHIFA_S3_* variables that put a service's blobs in this test's bucket."""
    return {"ZHIFA_S3_ENDPOINT_URL": s3_server.url, "ZHIFA_S3_BUCKET": s3_bucket, "ZHIFA_S3_REGION": REGION,
            "ZHIFA_S3_ACCESS_KEY_ID": ACCESS_KEY, "ZHIFA_S3_SECRET_ACCESS_KEY": SECRET_KEY}
