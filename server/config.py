"""Configuration from the environment, in one place.

Every setting the product reads is listed here; nothing else calls os.environ.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

PEOPLE_TZ = "Asia/Shanghai"  # shown to people; storage is always UTC
ROOT = Path(__file__).resolve().parent.parent


def _secret_key(data_dir: Path) -> str:
    """Generate the key once and keep it, so sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another node sharing this data dir made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _number(env, name: str, default, kind: type, minimum):
    """A numeric setting, refused at start-up with the variable's name when it is wrong."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name}={raw!r} is not {what}") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum}")
    return value


LAW_RETENTION_DAYS = 180  # Cybersecurity Law art. 21: operation logs kept six months


def _retention(env, name: str) -> int:
    """Days a log is kept: fewer than six months is allowed (a test machine) but warned
    about at start-up, since the law asks for six months."""
    days = _number(env, name, LAW_RETENTION_DAYS, int, 1)
    if days < LAW_RETENTION_DAYS:
        logging.getLogger(__name__).warning(
            "%s=%d: the Cybersecurity Law (art. 21) asks for logs kept at least %d days",
            name, days, LAW_RETENTION_DAYS)
    return days


def _queue_url(raw: str | None) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://")):
        raise ValueError(f"SIGNAGE_MESSAGE_QUEUE={raw!r}: only Redis is supported "
                         "(redis://host:6379/0 or rediss://...)")
    return raw


def _export_url(raw: str | None) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ValueError(f"SIGNAGE_CHAIN_EXPORT_URL={raw!r} must be an http(s):// URL")
    return raw


def _accel_path(raw: str | None) -> str | None:
    if not raw:
        return None
    if not (raw.startswith("/") and raw.endswith("/")):
        raise ValueError(f"SIGNAGE_BLOB_ACCEL_PATH={raw!r} must start and end with '/' "
                         "(e.g. /_signage_blobs/, the internal location in deploy/nginx)")
    return raw


def _choice(env, name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or allowed[0]
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    message_queue: str | None = None
    # Several deployments (or test runs) may share one Redis: each uses its own channel,
    # and the same name prefixes its rate-limit keys.
    message_queue_channel: str = "signage"
    queue_heartbeat_s: float = 5.0  # see server/hub/queue.py
    node_name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    # Database pool per process; see docs/deploy.md for how the numbers were chosen.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout_s: float = 10.0
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    proxy_hops: int = 0
    # Behind nginx: answer blob downloads with X-Accel-Redirect to this internal location,
    # so nginx serves the file (ranges, sendfile) after the app has checked access.
    blob_accel_path: str | None = None
    cookie_secure: bool = False
    login_limit: str = "10 per minute"
    max_upload_bytes: int = 1024 * 1024 * 1024
    font: str | None = None  # CJK font for notices; else found with fontconfig
    play_retention_days: int = 180  # raw proof-of-play records; hourly rollups are kept
    audit_retention_days: int = 180  # audit entries (both purges recorded in the chain)
    # The hash chains' heads appended to a file and/or POSTed to a URL (HMAC-signed with
    # the secret) every chain_export_s seconds; off when neither is set.
    chain_export_s: float = 3600.0
    chain_export_file: Path | None = None
    chain_export_url: str | None = None
    chain_export_secret: str | None = None
    # "embedded": every web worker is a scheduler candidate (one leads, by a database lease);
    # "off": web nodes leave it to dedicated `flask --app server scheduler` processes.
    scheduler: str = "embedded"
    scheduler_lease_s: float = 10.0  # a dead leader is replaced within 1 1/3 of this
    missed_heartbeats: int = 3  # a terminal silent for this many STATUS intervals is down
    # A picture unchanged this long past when the schedule changed it is stuck: three STATUS
    # intervals (a frame is described every 5 s); at least two, or sampling alone would do.
    stuck_grace_s: float = 15.0
    # CPU-heavy jobs (media decoding, notice rendering, exports) run in this many worker
    # processes, each job under these limits (server/workpool.py), never on the event loop.
    job_workers: int = 2
    job_timeout_s: float = 120.0
    job_memory_mb: int = 1024
    # Street signing keys (docs/security.md "Signed content"): the private key files live in
    # signing_key_dir (default <data_dir>/keys); with signer_socket set, the web worker
    # holds none and asks the signer process (`flask --app server signing serve`) instead.
    signing_key_dir: Path | None = None
    signer_socket: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: os._Environ | dict | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SIGNAGE_DATA_DIR") or ROOT / "var").resolve()
        db_url = env.get("SIGNAGE_DATABASE_URL") or f"sqlite:///{data_dir / 'signage.db'}"
        return cls(
            data_dir=data_dir,
            database_url=db_url,
            secret_key=env.get("SIGNAGE_SECRET_KEY") or _secret_key(data_dir),
            message_queue=_queue_url(env.get("SIGNAGE_MESSAGE_QUEUE")),
            message_queue_channel=env.get("SIGNAGE_MESSAGE_QUEUE_CHANNEL") or "signage",
            queue_heartbeat_s=_number(env, "SIGNAGE_QUEUE_HEARTBEAT_S", 5.0, float, 0.1),
            node_name=env.get("SIGNAGE_NODE_NAME") or f"{socket.gethostname()}-{os.getpid()}",
            db_pool_size=_number(env, "SIGNAGE_DB_POOL_SIZE", 10, int, 1),
            db_max_overflow=_number(env, "SIGNAGE_DB_MAX_OVERFLOW", 10, int, 0),
            db_pool_timeout_s=_number(env, "SIGNAGE_DB_POOL_TIMEOUT_S", 10.0, float, 0.1),
            proxy_hops=_number(env, "SIGNAGE_PROXY_HOPS", 0, int, 0),
            blob_accel_path=_accel_path(env.get("SIGNAGE_BLOB_ACCEL_PATH")),
            cookie_secure=env.get("SIGNAGE_COOKIE_SECURE", "") in ("1", "true", "yes"),
            login_limit=env.get("SIGNAGE_LOGIN_LIMIT") or "10 per minute",
            max_upload_bytes=int(env.get("SIGNAGE_MAX_UPLOAD_BYTES") or 1024**3),
            font=env.get("SIGNAGE_FONT") or None,
            play_retention_days=_retention(env, "SIGNAGE_PLAY_RETENTION_DAYS"),
            audit_retention_days=_retention(env, "SIGNAGE_AUDIT_RETENTION_DAYS"),
            chain_export_s=_number(env, "SIGNAGE_CHAIN_EXPORT_S", 3600.0, float, 1.0),
            chain_export_file=(Path(env["SIGNAGE_CHAIN_EXPORT_FILE"]).resolve()
                               if env.get("SIGNAGE_CHAIN_EXPORT_FILE") else None),
            chain_export_url=_export_url(env.get("SIGNAGE_CHAIN_EXPORT_URL")),
            chain_export_secret=env.get("SIGNAGE_CHAIN_EXPORT_SECRET") or None,
            scheduler=_choice(env, "SIGNAGE_SCHEDULER", ("embedded", "off")),
            scheduler_lease_s=float(env.get("SIGNAGE_SCHEDULER_LEASE_S") or 10),
            missed_heartbeats=int(env.get("SIGNAGE_MISSED_HEARTBEATS") or 3),
            stuck_grace_s=_number(env, "SIGNAGE_STUCK_GRACE_S", 15.0, float, 10.0),
            job_workers=_number(env, "SIGNAGE_JOB_WORKERS", 2, int, 1),
            job_timeout_s=_number(env, "SIGNAGE_JOB_TIMEOUT_S", 120.0, float, 1.0),
            job_memory_mb=_number(env, "SIGNAGE_JOB_MEMORY_MB", 1024, int, 32),
            signing_key_dir=(Path(env["SIGNAGE_KEY_DIR"]).resolve()
                             if env.get("SIGNAGE_KEY_DIR") else None),
            signer_socket=env.get("SIGNAGE_SIGNER_SOCKET") or None,
        )

    def child_environ(self) -> dict[str, str]:
        """The environment of a child process (a job worker, server/workpool.py): this
        process's, with these settings written as the variables `from_env` reads, so the
        child sees the same effective settings. Tests build apps from a dict that is not
        os.environ, so inheriting the environment alone would not do."""
        env = {
            **os.environ,
            "SIGNAGE_DATA_DIR": str(self.data_dir),
            "SIGNAGE_DATABASE_URL": self.database_url,
            "SIGNAGE_SECRET_KEY": self.secret_key,
            "SIGNAGE_NODE_NAME": self.node_name,
            "SIGNAGE_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "SIGNAGE_JOB_WORKERS": str(self.job_workers),
            "SIGNAGE_JOB_TIMEOUT_S": str(self.job_timeout_s),
            "SIGNAGE_JOB_MEMORY_MB": str(self.job_memory_mb),
        }
        if self.font:
            env["SIGNAGE_FONT"] = self.font
        return env

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def key_dir(self) -> Path:
        return self.signing_key_dir or self.data_dir / "keys"

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SIGNAGE": self,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SECURE": self.cookie_secure,
            "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
            "BABEL_DEFAULT_TIMEZONE": PEOPLE_TZ,
            "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "server" / "translations"),
            "API_TITLE": "Community LED signage API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "API_SPEC_OPTIONS": {
                "components": {
                    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
                },
                "security": [{"bearer": []}],
            },
            "RATELIMIT_HEADERS_ENABLED": True,
            # Shared counters when several nodes run; one process needs none.
            "RATELIMIT_STORAGE_URI": self.message_queue or "memory://",
            "RATELIMIT_KEY_PREFIX": self.message_queue_channel,
            # Redis away must not lock staff out: count in memory until it is back.
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "MAX_CONTENT_LENGTH": self.max_upload_bytes,
        }
