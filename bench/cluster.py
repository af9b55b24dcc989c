"""Real processes on loopback for benchmarks and integration tests: redis, simulator, celery,
and an S3 service (moto's server).

Everything listens on 127.0.0.1 on free ports, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sim_env(sim_url: str) -> dict[str, str]:
    """The base-URL variables that point every exchange, and every archive, at one simulator."""
    return {
        "BINANCE_SPOT_URL": sim_url,
        "BINANCE_USDM_URL": sim_url,
        "BINANCE_ARCHIVE_URL": sim_url,
        "MEXC_SPOT_URL": sim_url + "/mexc",
        "MEXC_CONTRACT_URL": sim_url,
        "GATEIO_URL": sim_url + "/api/v4",
        "GATEIO_ARCHIVE_URL": sim_url + "/gatedata",
        "BYBIT_URL": sim_url,
        "BYBIT_ARCHIVE_URL": sim_url + "/bybit-public",
    }


def wait_for(condition: Callable[[], object], timeout_s: float, what: str, poll_s: float = 0.05):
    """Poll `condition` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(poll_s)


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_output(self, text: str, timeout_s: float) -> str:
        def seen() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.log.name} exited early:\n{self.output()[-3000:]}")
            out = self.output()
            return out if text in out else None

        return wait_for(seen, timeout_s, f"{text!r} in {self.log.name}")

    def kill9(self) -> None:
        """SIGKILL the whole process group: the machine died, nothing got to clean up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 20) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._out.close()


class RedisServer(Process):
    """A redis-server on a free loopback port. With `aof`, it keeps an append-only file as
    docker-compose.yml's Redis does (appendfsync everysec), so `kill9` then `start` is a
    crash and a restart from the AOF on the same port. A `password` is set from a config
    file, never on the command line."""

    def __init__(self, workdir: Path, *, aof: bool = False, password: str | None = None):
        self.workdir = workdir
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
        config = workdir / "redis.conf"
        config.write_text(f'requirepass "{password}"\n' if password else "")
        self.args = [
            exe,
            str(config),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if aof else "no",
            "--appendfsync",
            "everysec",
            "--dir",
            str(workdir),
        ]
        self.starts = 0
        self.start()

    def start(self) -> None:
        """Start (again) on the same port and directory; returns once it accepts commands."""
        self.starts += 1
        super().__init__(self.args, self.workdir / f"redis-{self.starts}.log")
        self.wait_output("Ready to accept connections", 30)


class Simulator(Process):
    def __init__(self, workdir: Path, *extra: str, name: str = "sim"):
        args = [str(BIN / "exchange-sim"), "--port", "0", *extra]
        super().__init__(args, workdir / f"{name}.log")
        line = self.wait_output("listening on", 20)
        self.url = line.split("listening on", 1)[1].split()[0].rstrip("/")

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        request = urllib.request.Request(self.url + "/_sim/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def faults(self, **state) -> dict:
        """Change fault settings (keys as in POST /_sim/faults; pass rates as **{"5xx": 0.1});
        returns the whole fault state."""
        request = urllib.request.Request(
            self.url + "/_sim/faults",
            data=json.dumps(state).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def arrivals(self, since_ms: float | None = None) -> list[dict]:
        """Data requests in arrival order, those that arrived at or after `since_ms` if given."""
        query = "" if since_ms is None else f"?since_ms={since_ms}"
        with urllib.request.urlopen(self.url + "/_sim/log" + query, timeout=10) as response:
            return json.loads(response.read())


class Worker(Process):
    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        name: str,
        queue: str = "binance",
        concurrency: int = 1,
        app: str = "workers",
        cwd: Path | None = None,
    ):
        args = [
            str(BIN / "celery"),
            "-A",
            app,
            "worker",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "-c",
            str(concurrency),
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        super().__init__(args, workdir / f"worker-{name}.log", env, cwd)
        self.wait_output(" ready.", 60)

    def tasks_received(self) -> int:
        return self.output().count("] received")


class S3Server(Process):
    """moto's S3 server on a free loopback port: a real S3 HTTP API, in memory.

    Its log has one line per request, which `requests()` counts.
    """

    REQUEST = re.compile(r'"(GET|PUT|POST|DELETE|HEAD) ')

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        super().__init__(args, workdir / "s3.log")
        self.wait_output("Running on", 30)

    def env(self, bucket: str, prefix: str = "data") -> dict[str, str]:
        """What a host needs to use s3://bucket/prefix on this server as its DATA_DIR."""
        return {
            "DATA_DIR": f"s3://{bucket}/{prefix}",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "shardfetch-test",
            "AWS_SECRET_ACCESS_KEY": "shardfetch-test-secret",
            "AWS_REGION": "us-east-1",
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id="shardfetch-test",
            aws_secret_access_key="shardfetch-test-secret",
            region_name="us-east-1",
        )

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def requests(self) -> Counter:
        """Requests served so far, by HTTP method."""
        return Counter(m.group(1) for m in self.REQUEST.finditer(self.output()))


def run_producer(env: dict[str, str], *args: str, timeout_s: float = 300, cwd: Path | None = None):
    return subprocess.run(
        [str(BIN / "producer"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
