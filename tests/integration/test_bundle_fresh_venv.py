"""`verify BUNDLE.zip` in a fresh virtual environment holding only trackrecord, with no
workspace and no network (issue 12, item 2).

The environment is made without the system's site-packages; trackrecord goes in as a
wheel built from this tree (by hand with the standard library: a wheel is a zip with a
dist-info folder) through ``pip install --no-deps --no-index``. Its dependencies come from
the shared virtualenv's site-packages through a .pth file (no download). A sitecustomize
makes every socket connection fail, so "offline" is checked, not assumed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NO_NETWORK = '''import socket

def _offline(*args, **kwargs):
    raise OSError("network access in the offline verify test")

socket.socket.connect = _offline
socket.socket.connect_ex = _offline
socket.create_connection = _offline
'''


def build_wheel(out: Path) -> Path:
    """A py3-none-any wheel of src/trackrecord (every file but caches) with its console script."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    info = f"{name}-{version}.dist-info"
    source = REPO_ROOT / "src" / "trackrecord"
    entries: list[tuple[str, bytes]] = [
        (f"trackrecord/{path.relative_to(source).as_posix()}", path.read_bytes())
        for path in sorted(source.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    scripts = "".join(f"{script} = {target}\n" for script, target in project["scripts"].items())
    entries += [
        (f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", f"[console_scripts]\n{scripts}".encode()),
    ]
    record = "".join(f"{path},sha256={_digest(data)},{len(data)}\n" for path, data in entries) + f"{info}/RECORD,,\n"
    wheel = out / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*entries, (f"{info}/RECORD", record.encode())]:
            archive.writestr(path, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def fresh_venv(folder: Path, wheel: Path) -> Path:
    """A venv without system site-packages holding the wheel; returns its bin/ folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--no-cache-dir", "--disable-pip-version-check", "--quiet", str(wheel)], check=True, timeout=300)
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (purelib / "sitecustomize.py").write_text(NO_NETWORK)
    return folder / "bin"


@pytest.mark.slow
def test_verify_works_in_a_fresh_venv_with_only_trackrecord_offline_and_no_workspace(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("demo", root, "--years", "1").code == 0
    assert cli("--home", root, "report", "2026-01").code == 0
    line = cli("--home", root, "ledger", "commit").out.strip()
    bundle = tmp_path / "record.zip"
    assert cli("--home", root, "export", "bundle", bundle).code == 0

    (tmp_path / "wheel").mkdir()
    bin_dir = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "wheel"))
    empty = tmp_path / "recruiter"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("TRACKRECORD_HOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin:/bin"

    where = subprocess.run([str(bin_dir / "python"), "-c", "import trackrecord, socket; print(trackrecord.__file__); "
                            "socket.create_connection(('127.0.0.1', 9))"], cwd=empty, env=env,
                           capture_output=True, text=True, timeout=120)
    assert where.stdout.startswith(str(tmp_path / "venv")), "trackrecord comes from the fresh venv's wheel"
    assert "network access in the offline verify test" in where.stderr

    result = subprocess.run([str(bin_dir / "trackrecord"), "verify", str(bundle), "--commitment", line, "--json"],
                            cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["ok"] and document["figures_checked"] > 50 and document["key_fingerprint"].startswith("SHA256:")
    assert len(document["commitments_checked"]) == 2
    assert document["reports_rebuilt"] == ["reports/monthly/2026-01.pdf"], "the PDF is rebuilt offline, same bytes"
    assert list(empty.iterdir()) == [], "verify wrote nothing where it ran"
