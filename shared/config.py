"""Configuration from ZHIFA_* environment variables, with working defaults.

One frozen object per process; `load()` reads the environment each call so
tests can set variables and build a fresh app.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

SERVICES = ("generator", "archive", "search")
DEFAULT_PORTS = {"generator": 8001, "archive": 8002, "search": 8003}
# A search process of role public (ZHIFA_SEARCH_ROLE) beside the one on 8003, as docker-compose runs it.
PUBLIC_SEARCH_PORT = 8004
PROJECT_ROOT = Path(__file__).resolve().parent.parent


SEARCH_ROLES = ("all", "public")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """The variable's value, one of `choices` (the first when unset); anything else stops the start."""
    value = _env(name, choices[0])
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str | None
    api_keys: str | None
    api_keys_file: Path | None
    generator_url: str
    search_url: str
    public_verify_url: str
    generator_token: str | None
    deployment: str
    agency_file: Path | None
    calendar_file: Path | None
    templates_dir: Path | None
    max_body_bytes: int
    soffice_pool_size: int
    soffice_timeout: float
    soffice_recycle_after: int
    fonts_dir: Path
    verify_rate_limit: str
    ratelimit_storage_url: str | None
    http_connection_limit: int
    http_channel_timeout: int
    max_upload_bytes: int
    log_level: str
    archive_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['archive']}"
    # archive: seal key (PKCS#12; a local CA is made on first run when unset), RFC 3161 TSA,
    # clamd ("unix:/path" or "host:port"), the archive's name on the seal, binding rules file.
    seal_pkcs12: Path | None = None
    seal_password: str | None = None
    tsa_url: str | None = None
    clamd: str | None = None
    archive_name: str = "鞍山市行政审批局档案室"
    binding_file: Path | None = None
    seal_algorithm: str = "rsa"          # archive: "rsa" (PAdES, RSA/SHA-256) or "sm2" (国密 SM2/SM3, services/archive/gm_seal.py)
    # search: Elasticsearch instead of the embedded SQLite FTS5 index when set; the analyzer of
    # its text fields ("cjk", stock, or "smartcn" with the plugin); public search rate per client.
    elasticsearch_url: str | None = None
    elasticsearch_analyzer: str = "cjk"
    search_rate_limit: str = "120 per minute"
    # generator: the token (role case-system) it notifies the search service with of decisions to publish.
    search_token: str | None = None
    # The HTTP edge (shared.web.serve): how long a client may take to send a request's head, how
    # many connections one client address may hold, how many body bytes one address may have
    # buffered at once (None: the service's largest body), sign-in attempts per client.
    http_header_timeout: float = 10.0
    http_connections_per_client: int = 32
    http_body_bytes_per_client: int | None = None
    login_rate_limit: str = "10 per minute"
    api_key_min_length: int = 32
    # Services whose URL was configured (ZHIFA_<SERVICE>_URL); the others answer with the address
    # they are bound to (`with_bound_url`).
    configured_urls: frozenset = frozenset(SERVICES)
    # Blob storage on S3-compatible object storage (shared.blobstore) when the bucket is set,
    # so that several hosts of a service share files; else files under the data directory.
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None
    # search: processes that prepare (redact, segment) publications for a served process; None:
    # one per CPU (at most 4), 0: in the web process (services/search/preparing.py)
    search_prepare_processes: int | None = None
    # search: "all" serves every endpoint; "public" only what citizens use (no token), for the
    # internet-facing process, its searches never behind the publishers' work (README, Deployment)
    search_role: str = "all"

    def service_url(self, service: str) -> str:
        """The configured base URL of a service (ZHIFA_<SERVICE>_URL), without a trailing slash:
        what its absolute URLs start with, never the Host header a client sent."""
        urls = {"generator": self.generator_url, "archive": self.archive_url, "search": self.search_url}
        if service not in urls:
            raise ValueError(f"unknown service {service!r}; expected one of {SERVICES}")
        return urls[service]

    def with_bound_url(self, service: str, base_url: str) -> "Settings":
        """These settings with `service` at `base_url` (the address it is served on), unless its
        URL was configured; the search service's own verify page follows its bound address too."""
        if service in self.configured_urls or service not in SERVICES:
            return self
        changes = {f"{service}_url": base_url.rstrip("/")}
        if service == "search" and "public_verify" not in self.configured_urls:
            changes["public_verify_url"] = f"{base_url.rstrip('/')}/verify"
        return replace(self, **changes)

    def database_url(self, service: str) -> str:
        url = _env(f"ZHIFA_{service.upper()}_DATABASE_URL")
        if url:
            return url
        return f"sqlite:///{self.data_dir / service / 'db.sqlite3'}"

    def s3_prefix(self, service: str) -> str:
        """Where a service's blobs live in the bucket: ZHIFA_<SERVICE>_S3_PREFIX, else
        `<ZHIFA_S3_PREFIX or the deployment>/<service>/` (services and deployments never share keys)."""
        own = _env(f"ZHIFA_{service.upper()}_S3_PREFIX")
        if own:
            return own if own.endswith("/") else own + "/"
        base = _env("ZHIFA_S3_PREFIX", self.deployment).strip("/")
        return f"{base}/{service}/" if base else f"{service}/"

    def service_dir(self, service: str) -> Path:
        path = self.data_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path


def load() -> Settings:
    data_dir = Path(_env("ZHIFA_DATA_DIR", "./var")).resolve()
    api_keys_file = _env("ZHIFA_API_KEYS_FILE")
    agency_file = _env("ZHIFA_AGENCY_FILE")
    calendar_file = _env("ZHIFA_CALENDAR_FILE")
    templates_dir = _env("ZHIFA_TEMPLATES_DIR")
    search_url = _env("ZHIFA_SEARCH_URL", f"http://127.0.0.1:{DEFAULT_PORTS['search']}").rstrip("/")
    return Settings(
        data_dir=data_dir,
        redis_url=_env("ZHIFA_REDIS_URL"),
        api_keys=_env("ZHIFA_API_KEYS"),
        api_keys_file=Path(api_keys_file) if api_keys_file else None,
        generator_url=_env("ZHIFA_GENERATOR_URL", f"http://127.0.0.1:{DEFAULT_PORTS['generator']}").rstrip("/"),
        search_url=search_url,
        # What documents print and encode in their QR codes: the citizens'
        # verification page, never an internal service address.
        public_verify_url=_env("ZHIFA_PUBLIC_VERIFY_URL", f"{search_url}/verify").rstrip("/"),
        generator_token=_env("ZHIFA_GENERATOR_TOKEN"),
        # Prefixes queue names, so two deployments on one Redis never take each other's jobs.
        deployment=_env("ZHIFA_DEPLOYMENT", "zhifa"),
        agency_file=Path(agency_file) if agency_file else None,
        calendar_file=Path(calendar_file) if calendar_file else None,
        templates_dir=Path(templates_dir).resolve() if templates_dir else None,
        max_body_bytes=int(_env("ZHIFA_MAX_BODY_BYTES", str(2 * 1024 * 1024))),
        soffice_pool_size=int(_env("ZHIFA_SOFFICE_POOL_SIZE", "2")),
        # Well under the database's busy timeout; nothing waits on a
        # conversion but the request that asked for it.
        soffice_timeout=float(_env("ZHIFA_SOFFICE_TIMEOUT", "30")),
        # LibreOffice grows by about 1 MB a conversion: start it afresh now and then.
        soffice_recycle_after=int(_env("ZHIFA_SOFFICE_RECYCLE_AFTER", "100")),
        fonts_dir=Path(_env("ZHIFA_FONTS_DIR", str(PROJECT_ROOT / "build" / "fonts"))).resolve(),
        verify_rate_limit=_env("ZHIFA_VERIFY_RATE_LIMIT", "30 per minute"),
        ratelimit_storage_url=_env("ZHIFA_RATELIMIT_STORAGE_URL", _env("ZHIFA_REDIS_URL")),
        http_connection_limit=int(_env("ZHIFA_HTTP_CONNECTION_LIMIT", "200")),
        http_channel_timeout=int(_env("ZHIFA_HTTP_CHANNEL_TIMEOUT", "30")),
        max_upload_bytes=int(_env("ZHIFA_MAX_UPLOAD_BYTES", str(2 * 1024 ** 3))),
        log_level=_env("ZHIFA_LOG_LEVEL", "INFO"),
        archive_url=_env("ZHIFA_ARCHIVE_URL", f"http://127.0.0.1:{DEFAULT_PORTS['archive']}").rstrip("/"),
        seal_pkcs12=Path(_env("ZHIFA_SEAL_PKCS12")) if _env("ZHIFA_SEAL_PKCS12") else None,
        seal_password=_env("ZHIFA_SEAL_PASSWORD"),
        tsa_url=_env("ZHIFA_TSA_URL"),
        clamd=_env("ZHIFA_CLAMD"),
        archive_name=_env("ZHIFA_ARCHIVE_NAME", "鞍山市行政审批局档案室"),
        binding_file=Path(_env("ZHIFA_BINDING_FILE")) if _env("ZHIFA_BINDING_FILE") else None,
        seal_algorithm=_env("ZHIFA_SEAL_ALGORITHM", "rsa").strip().lower(),
        elasticsearch_url=_env("ZHIFA_ELASTICSEARCH_URL"),
        elasticsearch_analyzer=_env("ZHIFA_ELASTICSEARCH_ANALYZER", "cjk"),
        search_rate_limit=_env("ZHIFA_SEARCH_RATE_LIMIT", "120 per minute"),
        search_token=_env("ZHIFA_SEARCH_TOKEN"),
        http_header_timeout=float(_env("ZHIFA_HTTP_HEADER_TIMEOUT", "10")),
        http_connections_per_client=int(_env("ZHIFA_HTTP_CONNECTIONS_PER_CLIENT", "32")),
        http_body_bytes_per_client=(int(_env("ZHIFA_HTTP_BODY_BYTES_PER_CLIENT"))
                                    if _env("ZHIFA_HTTP_BODY_BYTES_PER_CLIENT") else None),
        login_rate_limit=_env("ZHIFA_LOGIN_RATE_LIMIT", "10 per minute"),
        api_key_min_length=int(_env("ZHIFA_API_KEY_MIN_LENGTH", "32")),
        configured_urls=frozenset(
            [s for s in SERVICES if _env(f"ZHIFA_{s.upper()}_URL")]
            + (["public_verify"] if _env("ZHIFA_PUBLIC_VERIFY_URL") else [])),
        s3_bucket=_env("ZHIFA_S3_BUCKET"),
        s3_endpoint_url=_env("ZHIFA_S3_ENDPOINT_URL"),
        s3_access_key_id=_env("ZHIFA_S3_ACCESS_KEY_ID"),
        s3_secret_access_key=_env("ZHIFA_S3_SECRET_ACCESS_KEY"),
        s3_region=_env("ZHIFA_S3_REGION"),
        search_prepare_processes=(int(_env("ZHIFA_SEARCH_PREPARE_PROCESSES"))
                                  if _env("ZHIFA_SEARCH_PREPARE_PROCESSES") else None),
        search_role=_choice("ZHIFA_SEARCH_ROLE", SEARCH_ROLES),
    )
