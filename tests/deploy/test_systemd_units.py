"""deploy/systemd's units pass `systemd-analyze verify`: known directives, valid values,
and commands that exist once the paths point at a real installation (this checkout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def test_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: `make test-deps` installs Debian's systemd"
    venv_bin = str(Path(sys.executable).parent)
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        # Where docs/deploy.md installs the server and the player, here: this checkout.
        text = (text.replace("/opt/signage-player/.venv/bin", venv_bin)
                .replace("/opt/signage/.venv/bin", venv_bin)
                .replace("/opt/signage-player", str(ROOT)).replace("/opt/signage", str(ROOT)))
        name = unit.name.replace("@.service", "@5001.service")  # an instance: its port
        (tmp_path / name).write_text(text)
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    assert len(units) == 3
    done = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
