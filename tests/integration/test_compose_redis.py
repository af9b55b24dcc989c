"""docker-compose.yml's Redis command, run for real (no Docker engine here): the image's
entrypoint and `chown` are stubbed, the shell script and redis-server are the real ones."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import redis
import yaml

from bench.cluster import Process, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "compose-pa55"


def test_the_compose_redis_starts_with_its_password_from_a_file_not_its_command_line(tmp_path):
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]
    (script,) = service["command"]
    script = script.replace("$$", "$")  # compose's escape for a literal $
    port = free_port()
    stubs = tmp_path / "bin"
    stubs.mkdir()
    server = shutil.which("redis-server")
    # The image's entrypoint drops to the redis user and execs its arguments; here it adds
    # only what keeps this run on its own port and directory.
    (stubs / "docker-entrypoint.sh").write_text(
        f'#!/bin/sh\nshift\nexec {server} "$@" --port {port} --bind 127.0.0.1 --dir "{tmp_path}"\n'
    )
    (stubs / "chown").write_text("#!/bin/sh\nexit 0\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {"PATH": f"{stubs}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    env["REDIS_PASSWORD"] = PASSWORD
    process = Process([*service["entrypoint"], script], tmp_path / "redis.log", env)
    try:
        process.wait_output("Ready to accept connections", 30)
        assert redis.Redis(port=port, password=PASSWORD).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        cmdline = Path(f"/proc/{process.proc.pid}/cmdline").read_bytes()
        assert b"redis-server" in cmdline, "exec: redis-server is the process the shell was"
        assert PASSWORD.encode() not in cmdline
        assert (tmp_path / "redis-auth.conf").stat().st_mode & 0o077 == 0, "owner only"
        health = service["healthcheck"]["test"][-1]
        assert service["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD")
        if shutil.which("redis-cli"):
            check = subprocess.run(
                ["sh", "-c", health.replace("redis-cli", f"redis-cli -p {port}")],
                env={**os.environ, "REDISCLI_AUTH": PASSWORD},
                timeout=10,
            )
            assert check.returncode == 0, "the healthcheck passes with REDISCLI_AUTH"
    finally:
        process.stop()
