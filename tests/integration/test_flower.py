"""Flower against a real cluster: its API shows workers, shard tasks and queue lengths."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from bench.cluster import BIN, Process, free_port, run_producer, wait_for

USER, PASSWORD = "ops", "s3cret-flower"


class Flower(Process):
    def __init__(self, workdir, env: dict[str, str], basic_auth: str | None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            str(BIN / "celery"),
            "-A",
            "workers",
            "flower",
            "--address=127.0.0.1",
            f"--port={self.port}",
        ]
        env = {k: v for k, v in env.items() if k != "FLOWER_BASIC_AUTH"}
        if basic_auth:
            env["FLOWER_BASIC_AUTH"] = basic_auth
        super().__init__(args, workdir / f"flower-{self.port}.log", env)
        wait_for(lambda: self._status("/healthcheck") == 200, 60, "flower to answer")

    def _status(self, path: str, auth: bool = False) -> int | None:
        try:
            with self.open(path, auth) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(f"flower exited:\n{self.output()[-3000:]}") from None
            return None

    def open(self, path: str, auth: bool = True):
        request = urllib.request.Request(self.url + path)
        if auth:
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=10)

    def get(self, path: str) -> dict:
        with self.open(path) as response:
            return json.loads(response.read())


@pytest.fixture
def flower_of(tmp_path):
    started: list[Flower] = []

    def start(env: dict[str, str], basic_auth: str | None = f"{USER}:{PASSWORD}") -> Flower:
        flower = Flower(tmp_path, env, basic_auth)
        started.append(flower)
        return flower

    yield start
    for flower in started:
        flower.stop()


def test_flower_api_shows_workers_shard_tasks_and_queue_lengths_while_a_job_runs(
    make_cluster, flower_of
):
    cluster = make_cluster("--latency-ms", "30")
    flower = flower_of(cluster.env)
    worker = cluster.start_worker("watched")
    months = [
        "--data",
        "klines",
        "--interval",
        "1m",
        "--start",
        "2024-01-01",
        "--end",
        "2024-04-01",
    ]
    sent = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *months)
    assert " 3 sent" in sent.stdout, sent.stdout + sent.stderr

    def queue_seen() -> dict | None:
        doc = flower.get("/api/queues/length")
        queues = {q["name"]: q["messages"] for q in doc.get("active_queues", [])}
        return queues if "binance" in queues else None

    queues = wait_for(queue_seen, 60, "the binance queue in flower", poll_s=0.3)
    assert queues["binance"] >= 0

    def tasks_seen() -> dict | None:
        tasks = flower.get("/api/tasks")
        args = {t["args"] for t in tasks.values()}
        return tasks if any("binance:spot:klines:1m:BTCUSDT:2024-" in a for a in args) else None

    tasks = wait_for(tasks_seen, 60, "a shard task in flower", poll_s=0.3)
    task = next(iter(tasks.values()))
    assert task["name"] == "shardfetch.fetch_shard"
    assert task["worker"].startswith("watched")

    workers = wait_for(lambda: flower.get("/api/workers?refresh=1"), 60, "workers in flower")
    assert any(name.startswith("watched") for name in workers)
    done = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *months, "--wait")
    assert done.returncode == 0, done.stdout
    wait_for(
        lambda: {t["state"] for t in flower.get("/api/tasks").values()} == {"SUCCESS"},
        60,
        "flower to see every task succeed",
        poll_s=0.3,
    )
    assert worker.tasks_received() == 3


def test_flower_with_basic_auth_refuses_a_request_without_credentials(redis_url, flower_of):
    flower = flower_of({"REDIS_URL": redis_url, "PATH": str(BIN)})
    for path in ("/", "/api/workers", "/api/tasks"):
        assert flower._status(path) == 401, path
    wrong = urllib.request.Request(flower.url + "/api/tasks")
    wrong.add_header("Authorization", "Basic " + base64.b64encode(b"ops:guess").decode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    assert refused.value.code == 401
    assert flower._status("/api/tasks", auth=True) == 200
