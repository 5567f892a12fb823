"""deploy/render_nginx.py: the shipped example renders a site Debian's nginx accepts, and
wrong values are refused naming what to fix (tests/multinode runs the site for real)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy import render_nginx
from tests.multinode import nginx

EXAMPLE = Path(render_nginx.__file__).parent / "signage.env.example"


def render(**overrides) -> str:
    values = {"listen": "80", "server_name": "signage.example.org", "data_dir": "/srv/signage",
              "max_upload_bytes": 1024**3, "accel_path": "/_signage_blobs/", **overrides}
    nodes = values.pop("nodes", ["127.0.0.1:8001", "10.0.0.2:8001"])
    return render_nginx.render(nodes, **values)


def test_the_example_environment_renders_a_site_nginx_accepts(tmp_path, capsys):
    assert render_nginx.main(["--env", str(EXAMPLE)]) == 0
    site = capsys.readouterr().out
    assert site.count("server 127.0.0.1:800") == 2 * 3  # both upstreams, three nodes
    assert f"client_max_body_size {1024**3 + 1024**2};" in site
    assert "alias /srv/signage/blobs/;" in site and "location /_signage_blobs/ {" in site
    assert not re.search(r"@[A-Z_]+@", site)
    nginx.configure(tmp_path, site.replace("listen 80;", "listen 127.0.0.1:1;"))  # nginx -t


@pytest.mark.parametrize(("change", "says"), [
    ({"nodes": []}, "SIGNAGE_WEB_NODES is empty"),
    ({"nodes": ["node-a"]}, "is not host:port"),
    ({"nodes": ["127.0.0.1:8001; evil"]}, "is not host:port"),
    ({"accel_path": "/_signage_blobs"}, "must start and end with '/'"),
    ({"data_dir": "srv/signage"}, "must be an absolute path"),
    ({"listen": "80; include /etc/passwd"}, "give a port or address:port"),
    ({"server_name": "a.org; return 200"}, "SIGNAGE_SERVER_NAME"),
])
def test_wrong_values_are_refused_naming_the_variable(change, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        render(**change)


def test_the_command_reports_a_bad_file_and_exits_2(tmp_path, capsys):
    env = tmp_path / "signage.env"
    env.write_text("# nodes forgotten\nSIGNAGE_DATA_DIR=/srv/signage\n")
    assert render_nginx.main(["--env", str(env)]) == 2
    assert "SIGNAGE_WEB_NODES is empty" in capsys.readouterr().err


def test_env_file_lines_are_read_as_systemd_reads_them(tmp_path):
    env = tmp_path / "signage.env"
    env.write_text('# comment\n\nA=1\nB="two words"\nC=x=y\n')
    assert render_nginx.read_env_file(env) == {"A": "1", "B": "two words", "C": "x=y"}
