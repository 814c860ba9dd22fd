"""The deployment files: the systemd unit passes `systemd-analyze verify` and carries the
hardening; the compose files publish nothing beyond 127.0.0.1 and hold no inline secret; the
image runs as a non-root user; the entrypoint turns *_FILE secrets into the variables."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.conftest import REPO_ROOT, require

DEPLOY = REPO_ROOT / "deploy"
UNIT = DEPLOY / "trackrecord-scheduler.service"
SECRET_WORDS = re.compile(r"PASSWORD|TOKEN|SECRET|PASSPHRASE|API_KEY|PRIVATE", re.IGNORECASE)


def _unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze is not installed (apt-get install systemd)")
    unit = tmp_path / UNIT.name
    # the unit names the installed console script; verify it against one that exists here
    unit.write_text(UNIT.read_text().replace("ExecStart=/opt/trackrecord/.venv/bin/trackrecord scheduler",
                                             f"ExecStart={sys.executable} -m trackrecord scheduler"))
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=120)
    ours = [line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_systemd_unit_is_a_hardened_notify_service_with_a_watchdog() -> None:
    unit = _unit_settings()
    assert unit["Type"] == ["notify"] and unit["Restart"] == ["on-failure"]
    assert int(unit["WatchdogSec"][0]) >= 2 * 30, "well above the default heartbeat of 30 s"
    assert unit["NoNewPrivileges"] == ["yes"] and unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == ["/var/lib/trackrecord"] == [unit["Environment"][0].split("=", 1)[1]]
    assert unit["EnvironmentFile"][0].startswith("/etc/"), "secrets live outside the repository"
    assert unit["ExecStart"][0].endswith("trackrecord scheduler") and unit["User"] == ["trackrecord"]
    assert not any(SECRET_WORDS.search(v) for v in unit.get("Environment", [])), "no secret inline"
    # ProtectHome hides ~/.cache: the calendar cache goes where systemd lets the service write
    assert unit["CacheDirectory"] == ["trackrecord"]
    assert "TRACKRECORD_CACHE_DIR=/var/cache/trackrecord" in unit["Environment"]


def _port_problems(service: str, ports: list[Any]) -> Iterator[str]:
    for port in ports:
        if isinstance(port, dict):
            if port.get("host_ip") != "127.0.0.1":
                yield f"{service}: port {port} is not bound to 127.0.0.1"
        elif not str(port).startswith("127.0.0.1:"):
            yield f"{service}: port {port!r} is not bound to 127.0.0.1"


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def compose_problems(document: dict[str, Any]) -> list[str]:
    """Ports beyond loopback and secrets written into the file (not a /run/secrets file)."""
    problems: list[str] = []
    for name, service in (document.get("services") or {}).items():
        problems += _port_problems(name, service.get("ports") or [])
        for key, value in _environment(service).items():
            if not SECRET_WORDS.search(key):
                continue
            if not key.endswith("_FILE"):
                problems.append(f"{name}: {key} holds a secret inline (use {key}_FILE and a secret file)")
            elif not value.startswith("/run/secrets/"):
                problems.append(f"{name}: {key} points at {value}, not a /run/secrets/ file")
        if "network_mode" in service and service["network_mode"] == "host":
            problems.append(f"{name}: network_mode host publishes every port")
    for name, secret in (document.get("secrets") or {}).items():
        if "file" not in secret:
            problems.append(f"secret {name}: not read from a file")
    return problems


@pytest.mark.parametrize("name", ["compose.yaml", "compose.vnc.yaml"])
def test_compose_files_publish_only_on_loopback_and_hold_no_secret(name: str) -> None:
    document = yaml.safe_load((DEPLOY / name).read_text())
    assert compose_problems(document) == []


@pytest.mark.parametrize("service, expected", [
    ({"ports": ["4002:4004"]}, "port '4002:4004' is not bound to 127.0.0.1"),
    ({"ports": ["0.0.0.0:5900:5900"]}, "not bound to 127.0.0.1"),
    ({"ports": [{"target": 5900, "published": 5900}]}, "not bound to 127.0.0.1"),
    ({"environment": {"TWS_PASSWORD": "hunter2"}}, "TWS_PASSWORD holds a secret inline"),
    ({"environment": ["VNC_SERVER_PASSWORD=123456"]}, "VNC_SERVER_PASSWORD holds a secret inline"),
    ({"environment": {"TRACKRECORD_SMTP_PASSWORD_FILE": "/home/me/pw"}}, "not a /run/secrets/ file"),
])
def test_the_compose_check_catches_what_it_must(service: dict[str, Any], expected: str) -> None:
    problems = compose_problems({"services": {"x": service}})
    assert len(problems) == 1 and expected in problems[0]


def test_compose_pins_the_gateway_keeps_vnc_off_and_builds_trackrecord() -> None:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    gateway, scheduler = document["services"]["ib-gateway"], document["services"]["trackrecord"]
    image, tag = gateway["image"].rsplit(":", 1)
    assert image == "ghcr.io/gnzsnz/ib-gateway" and re.fullmatch(r"\d+\.\d+\.\w+", tag), gateway["image"]
    assert not any("VNC" in key for key in _environment(gateway)), "VNC stays off without compose.vnc.yaml"
    assert not any("5900" in str(p) for p in gateway["ports"])
    assert scheduler["build"]["dockerfile"] == "deploy/Dockerfile" and scheduler["command"] == ["scheduler"]
    assert "workspace:/workspace" in scheduler["volumes"]
    vnc = yaml.safe_load((DEPLOY / "compose.vnc.yaml").read_text())["services"]["ib-gateway"]
    assert _environment(vnc) == {"VNC_SERVER_PASSWORD_FILE": "/run/secrets/vnc_password"}


def test_dockerfile_runs_as_a_non_root_user_and_copies_no_secret() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    copied = " ".join(re.findall(r"^COPY\s+(.+)$", text, flags=re.MULTILINE))
    assert "secrets" not in copied and ".env" not in copied and "keys" not in copied
    assert not re.search(r"^(ENV|ARG)\s+.*(PASSWORD|TOKEN)", text, flags=re.MULTILINE)


def test_entrypoint_reads_secret_files_and_refuses_a_missing_one(tmp_path: Path) -> None:
    shell = shutil.which("sh")
    require(shell is not None, "no /bin/sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "trackrecord"
    stub.write_text('#!/bin/sh\necho "args=$*"\necho "smtp=$TRACKRECORD_SMTP_PASSWORD"\n'
                    'echo "file=${TRACKRECORD_SMTP_PASSWORD_FILE:-unset}"\n')
    stub.chmod(0o755)
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "TRACKRECORD_SMTP_PASSWORD_FILE": str(secret)}
    result = subprocess.run([shell, str(DEPLOY / "entrypoint.sh"), "scheduler"], capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 0 and result.stdout.splitlines() == ["args=scheduler", "smtp=s3cret", "file=unset"]
    env["TRACKRECORD_SMTP_PASSWORD_FILE"] = str(tmp_path / "missing")
    refused = subprocess.run([shell, str(DEPLOY / "entrypoint.sh"), "scheduler"], capture_output=True, text=True,
                             env=env, timeout=30)
    assert refused.returncode == 2 and "TRACKRECORD_SMTP_PASSWORD_FILE" in refused.stderr


def test_entrypoint_refuses_a_secret_set_both_ways_as_trackrecord_does(tmp_path: Path) -> None:
    shell = shutil.which("sh")
    require(shell is not None, "no /bin/sh")
    secret = tmp_path / "flex_token"
    secret.write_text("t0ken")
    env = {"PATH": os.environ["PATH"], "TRACKRECORD_FLEX_TOKEN": "t0ken", "TRACKRECORD_FLEX_TOKEN_FILE": str(secret)}
    refused = subprocess.run([shell, str(DEPLOY / "entrypoint.sh"), "scheduler"], capture_output=True, text=True,
                             env=env, timeout=30)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == "error: $TRACKRECORD_FLEX_TOKEN and $TRACKRECORD_FLEX_TOKEN_FILE are both set: set only one\n"
