"""Render deploy/nginx/signage.conf.in into a site file for Debian's nginx.

    python3 deploy/render_nginx.py --env /etc/signage/signage.env \
        > /etc/nginx/sites-available/signage

Values come from the environment file the web nodes read (deploy/signage.env.example):
SIGNAGE_WEB_NODES (host:port of every web node, space-separated), SIGNAGE_SERVER_NAME,
SIGNAGE_LISTEN, SIGNAGE_DATA_DIR, SIGNAGE_MAX_UPLOAD_BYTES, SIGNAGE_BLOB_ACCEL_PATH.
Standard library only: it runs on the proxy host, which needs no virtualenv.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "signage.conf.in"
FORM_ROOM_BYTES = 1024 * 1024  # multipart envelope around an upload of the maximum size
NODE_RE = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")


def render(nodes: list[str], *, listen: str, server_name: str, data_dir: str,
           max_upload_bytes: int, accel_path: str, template: Path = TEMPLATE) -> str:
    """The site configuration; every value is checked with a message saying what to fix."""
    if not nodes:
        raise ValueError("SIGNAGE_WEB_NODES is empty: list every web node as host:port")
    for node in nodes:
        if not NODE_RE.match(node):
            raise ValueError(f"SIGNAGE_WEB_NODES: {node!r} is not host:port")
    if not (accel_path.startswith("/") and accel_path.endswith("/")):
        raise ValueError(f"SIGNAGE_BLOB_ACCEL_PATH={accel_path!r} must start and end with '/'")
    if not Path(data_dir).is_absolute():
        raise ValueError(f"SIGNAGE_DATA_DIR={data_dir!r} must be an absolute path")
    if not re.fullmatch(r"[\w.:\[\]*]+", listen):
        raise ValueError(f"SIGNAGE_LISTEN={listen!r}: give a port or address:port")
    if not re.fullmatch(r"[\w.\-* ]+", server_name):
        raise ValueError(f"SIGNAGE_SERVER_NAME={server_name!r}: give host names separated by "
                         "spaces (or _ for any)")
    servers = "\n".join(f"    server {n} max_fails=1 fail_timeout=10s;" for n in nodes)
    values = {
        "SERVERS": servers,
        "LISTEN": listen,
        "SERVER_NAME": server_name,
        "MAX_BODY": str(max_upload_bytes + FORM_ROOM_BYTES),
        "ACCEL_PATH": accel_path,
        "BLOB_DIR": str(Path(data_dir) / "blobs"),
    }
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = set(re.findall(r"@[A-Z_]+@", text))
    if left:
        raise ValueError(f"template values not filled: {sorted(left)}")
    return text


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile reads them (no shell expansion)."""
    env: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: {raw!r} is not KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", type=Path, required=True, help="the web nodes' environment file")
    args = p.parse_args(argv)
    env = read_env_file(args.env)
    try:
        print(render(env.get("SIGNAGE_WEB_NODES", "").split(),
                     listen=env.get("SIGNAGE_LISTEN", "80"),
                     server_name=env.get("SIGNAGE_SERVER_NAME", "_"),
                     data_dir=env.get("SIGNAGE_DATA_DIR", ""),
                     max_upload_bytes=int(env.get("SIGNAGE_MAX_UPLOAD_BYTES") or 1024**3),
                     accel_path=env.get("SIGNAGE_BLOB_ACCEL_PATH", "/_signage_blobs/")), end="")
    except ValueError as e:
        print(f"render_nginx: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
