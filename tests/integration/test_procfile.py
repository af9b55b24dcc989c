"""The Procfile's processes, started by honcho on free loopback ports, run a small job."""

from __future__ import annotations

import json
import os
import urllib.request

from bench.cluster import BIN, Process, Simulator, free_port, run_producer, sim_env, wait_for
from tests.integration.test_end_to_end import FUNDING, SHARDS
from tests.integration.truth import assert_matches_truth
from workers.exchanges import ADAPTERS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_procfile_processes_start_under_honcho_and_run_a_job(tmp_path):
    sim = Simulator(tmp_path)
    redis_port, flower_port = free_port(), free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "REDIS_PORT": str(redis_port),
        "REDIS_DIR": str(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FLOWER_PORT": str(flower_port),
        "FLOWER_UNAUTHENTICATED_API": "true",
        "WORKER_CONCURRENCY": "2",
        "DATA_DIR": str(tmp_path / "data"),
        **sim_env(sim.url),
        "PYTHONUNBUFFERED": "1",
    }
    honcho = Process(
        [str(BIN / "honcho"), "-f", os.path.join(ROOT, "Procfile"), "-d", str(tmp_path), "start"],
        tmp_path / "honcho.log",
        env,
    )
    try:
        honcho.wait_output("Ready to accept connections", 30)

        def every_worker_ready() -> bool:
            lines = honcho.output().splitlines()
            return all(
                any(f"worker_{name}.1" in line and " ready." in line for line in lines)
                for name in ADAPTERS
            )

        wait_for(every_worker_ready, 120, "a ready worker on every exchange's queue")
        flower = f"http://127.0.0.1:{flower_port}"

        def flower_up() -> bool:
            try:
                with urllib.request.urlopen(flower + "/healthcheck", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_for(flower_up, 60, "flower from the Procfile")
        result = run_producer(
            env, "enqueue", "--symbol", "BTCUSDT", *FUNDING, "--wait", "--timeout", "120"
        )
        assert result.returncode == 0, result.stdout + result.stderr + honcho.output()[-3000:]
        for shard in SHARDS[5:]:  # the two funding months
            assert_matches_truth(tmp_path / "data", shard)
        with urllib.request.urlopen(flower + "/api/workers?refresh=1", timeout=10) as r:
            workers = json.loads(r.read())
        assert any(name.startswith("binance@") for name in workers)
        assert (tmp_path / "appendonlydir").is_dir(), "redis keeps an AOF in REDIS_DIR"
    finally:
        honcho.stop()
        sim.stop()
    out = honcho.output()
    assert "redis.1" in out and "flower.1" in out
    assert all(f"worker_{name}.1" in out for name in ADAPTERS)
