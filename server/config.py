"""Configuration from the environment, in one place.

Every setting the product reads is listed here; nothing else calls os.environ.
"""

from __future__ import annotations

import os
import secrets
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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


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
    cookie_secure: bool = False
    login_limit: str = "10 per minute"
    max_upload_bytes: int = 1024 * 1024 * 1024
    font: str | None = None  # CJK font for notices; else found with fontconfig
    play_retention_days: int = 90  # raw proof-of-play records; hourly rollups are kept
    # "embedded": every web worker is a scheduler candidate (one leads, by a database lease);
    # "off": web nodes leave it to dedicated `flask --app server scheduler` processes.
    scheduler: str = "embedded"
    scheduler_lease_s: float = 30.0  # a dead leader is replaced within 1 1/3 of this
    missed_heartbeats: int = 3  # a terminal silent for this many STATUS intervals is down
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
            message_queue=env.get("SIGNAGE_MESSAGE_QUEUE") or None,
            cookie_secure=env.get("SIGNAGE_COOKIE_SECURE", "") in ("1", "true", "yes"),
            login_limit=env.get("SIGNAGE_LOGIN_LIMIT") or "10 per minute",
            max_upload_bytes=int(env.get("SIGNAGE_MAX_UPLOAD_BYTES") or 1024**3),
            font=env.get("SIGNAGE_FONT") or None,
            play_retention_days=int(env.get("SIGNAGE_PLAY_RETENTION_DAYS") or 90),
            scheduler=_choice(env, "SIGNAGE_SCHEDULER", ("embedded", "off")),
            scheduler_lease_s=float(env.get("SIGNAGE_SCHEDULER_LEASE_S") or 30),
            missed_heartbeats=int(env.get("SIGNAGE_MISSED_HEARTBEATS") or 3),
        )

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

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
            "MAX_CONTENT_LENGTH": self.max_upload_bytes,
        }
