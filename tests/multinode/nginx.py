"""Debian's nginx in front of the test nodes, with the site file rendered from deploy/
exactly as an administrator renders it; only the main context (pid, logs, temp paths,
normally Debian's /etc/nginx/nginx.conf) is the test's own, inside a temp dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from deploy import render_nginx
from tests.live import free_port

ACCEL_PATH = "/_signage_blobs/"

MAIN = """\
{user}
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format upstream '$remote_addr "$request" $status $body_bytes_sent $upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/signage.conf;
}}
"""


@dataclass
class Nginx:
    url: str
    dir: Path
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def access_log(self) -> str:
        return (self.dir / "access.log").read_text()


def binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                     else None)
    if path is None:
        raise RuntimeError("multi-node tests need Debian's nginx: `make test-deps` installs "
                           "it (apt-get install nginx)")
    return path


def configure(work: Path, site: str) -> list[str]:
    """Write the site and a main context around it into `work`; check it with `nginx -t`.
    Returns the command line that runs this nginx in the foreground."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "signage.conf").write_text(site)
    # As root, workers would switch to "nobody", who cannot read the test's temp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(MAIN.format(dir=work, user=user))
    args = [binary(), "-p", str(work), "-c", str(work / "nginx.conf"), "-e",
            str(work / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused the rendered configuration:\n{check.stderr}")
    return args


def start(nodes: list[str], data_dir: Path, work: Path, max_upload_bytes: int) -> Nginx:
    port = free_port()
    args = configure(work, render_nginx.render(
        nodes, listen=f"127.0.0.1:{port}", server_name="localhost", data_dir=str(data_dir),
        max_upload_bytes=max_upload_bytes, accel_path=ACCEL_PATH))
    out = (work / "stderr.log").open("a")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(work / 'error.log').read_text()[-2000:]}")
        try:
            if requests.get(url + "/login", timeout=5).status_code == 200:
                return Nginx(url, work, proc)
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"nginx did not answer: {(work / 'error.log').read_text()[-2000:]}")
