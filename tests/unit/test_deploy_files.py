"""docker-compose.yml, Dockerfile and Procfile, checked at the YAML and text level.

There is no Docker engine here, so these assert what compose would be given: the services,
their commands, volumes, profiles and the security settings a user relies on.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from workers.exchanges import ADAPTERS
from workers.settings import Settings, budget_var, url_var

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_of(service: dict) -> dict:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_one_worker_service_per_exchange_queue(compose: dict) -> None:
    for name in ADAPTERS:
        service = compose["services"][f"worker-{name}"]
        command = service["command"]
        assert command[:4] == ["celery", "-A", "workers", "worker"]
        assert command[command.index("-Q") + 1] == name
        assert "container_name" not in service, "a fixed name would forbid --scale"
    workers = [s for s in compose["services"] if s.startswith("worker-")]
    assert sorted(workers) == sorted(f"worker-{n}" for n in ADAPTERS)


def test_redis_has_a_password_aof_and_is_published_on_localhost_only(compose: dict) -> None:
    redis = compose["services"]["redis"]
    (script,) = redis["command"]
    assert redis["entrypoint"] == ["/bin/sh", "-c"]
    assert "requirepass" in script and '"$$REDIS_PASSWORD"' in script
    assert "exec docker-entrypoint.sh redis-server" in script, "redis-server is PID 1"
    assert "--appendonly yes --appendfsync everysec" in script
    assert env_of(redis)["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert all(str(p).startswith("127.0.0.1:") for p in redis.get("ports", []))
    assert any(v.endswith(":/data") for v in redis["volumes"]), "AOF survives a restart"
    assert "healthcheck" in redis


def test_the_redis_password_is_on_no_command_line(compose: dict) -> None:
    """`ps` and `docker inspect` show command lines: the password reaches redis-server from a
    file and redis-cli from REDISCLI_AUTH, never as an argument."""
    redis = compose["services"]["redis"]
    argv = [*redis["entrypoint"], *redis["command"], *redis["healthcheck"]["test"]]
    assert not [a for a in argv if "--requirepass" in a or "-a " in a or "REDIS_PASSWORD}" in a]
    assert "redis-cli ping" in redis["healthcheck"]["test"][-1]
    assert env_of(redis)["REDISCLI_AUTH"] == env_of(redis)["REDIS_PASSWORD"]


def test_workers_get_a_stop_grace_period_longer_than_a_typical_shard(compose: dict) -> None:
    for name in ADAPTERS:
        grace = compose["services"][f"worker-{name}"]["stop_grace_period"]
        assert re.fullmatch(r"\d+m", grace) and int(grace[:-1]) >= 2, grace


def test_every_shardfetch_container_can_name_the_datasets_namespace(compose: dict) -> None:
    for service in ("flower", "demo", *(f"worker-{n}" for n in ADAPTERS)):
        env = env_of(compose["services"][service])
        assert env["SHARDFETCH_NAMESPACE"] == "${SHARDFETCH_NAMESPACE:-}"


def test_every_process_shares_redis_and_the_s3_dataset_and_no_volume(compose: dict) -> None:
    for name in ("flower", "demo", *(f"worker-{n}" for n in ADAPTERS)):
        service = compose["services"][name]
        env = env_of(service)
        assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD[^}]*\}@redis:6379/0", env["REDIS_URL"])
        assert env["DATA_DIR"] == "s3://${S3_BUCKET:-shardfetch}/data"
        assert env["AWS_ENDPOINT_URL"] == "${AWS_ENDPOINT_URL:-http://minio:9000}"
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${AWS_SECRET_ACCESS_KEY:?")
        assert {"AWS_ACCESS_KEY_ID", "AWS_REGION"} <= set(env)
        assert "volumes" not in service, f"{name} shares no folder with anyone"
        assert service["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert "data" not in compose["volumes"] and "redis" in compose["volumes"]


def test_minio_keeps_the_dataset_and_a_one_shot_service_makes_its_bucket(compose: dict) -> None:
    services = compose["services"]
    minio = services["minio"]
    assert minio["command"][:2] == ["server", "/data"] and "minio:/data" in minio["volumes"]
    assert all(str(p).startswith("127.0.0.1:") for p in minio["ports"])
    assert minio["environment"]["MINIO_ROOT_PASSWORD"].startswith("${AWS_SECRET_ACCESS_KEY:?")
    assert "healthcheck" in minio and "minio" in compose["volumes"]
    bucket = services["bucket"]
    assert bucket["restart"] == "no"
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(bucket["entrypoint"])
    assert "mc mb --ignore-existing" in script and '"store/$$S3_BUCKET"' in script
    assert bucket["environment"]["S3_BUCKET"] == "${S3_BUCKET:-shardfetch}"


def test_the_minio_credentials_are_on_no_command_line(compose: dict) -> None:
    """`ps` and `docker inspect` show command lines: the bucket service's mc finds MinIO and
    its credentials in MC_HOST_store (the alias its script uses), the server in its
    environment; no service passes a key or a secret as an argument."""
    env = compose["services"]["bucket"]["environment"]
    assert env["MC_HOST_store"] == (
        "http://${AWS_ACCESS_KEY_ID:-shardfetch}:"
        "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY (8+ characters)}@minio:9000"
    )
    secrets = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "MINIO_ROOT", "MC_HOST")
    for name, service in compose["services"].items():
        argv = []
        for part in ("entrypoint", "command"):
            value = service.get(part) or []
            argv += [value] if isinstance(value, str) else value
        argv += (service.get("healthcheck") or {}).get("test", [])
        leaked = [a for a in map(str, argv) if any(s in a for s in secrets) or "alias set" in a]
        assert leaked == [], f"{name} puts credentials on its command line: {leaked}"


def test_flower_requires_basic_auth_from_the_environment(compose: dict) -> None:
    flower = compose["services"]["flower"]
    assert flower["command"][:4] == ["celery", "-A", "workers", "flower"]
    assert env_of(flower)["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert all(str(p).startswith("127.0.0.1:") for p in flower["ports"])


def test_simulator_and_one_shot_demo_producer_run_only_under_the_demo_profile(
    compose: dict,
) -> None:
    services = compose["services"]
    assert services["exchange-sim"]["profiles"] == ["demo"]
    assert services["exchange-sim"]["command"][0] == "exchange-sim"
    assert "0.0.0.0" in services["exchange-sim"]["command"], "reachable from other containers"
    demo = services["demo"]
    assert demo["profiles"] == ["demo"] and demo["restart"] == "no"
    assert demo["command"][:2] == ["producer", "enqueue"] and "--wait" in demo["command"]
    assert "exchange-sim" in demo["depends_on"]
    others = [n for n, s in services.items() if n not in ("exchange-sim", "demo")]
    assert all("profiles" not in services[n] for n in others), "the rest start by default"
    demo_env = dict(
        line.split("=", 1)
        for line in (ROOT / "compose.demo.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert demo_env["BINANCE_SPOT_URL"] == "http://exchange-sim:9001"
    assert {"REDIS_PASSWORD", "FLOWER_BASIC_AUTH", "AWS_SECRET_ACCESS_KEY"} <= set(demo_env)
    assert len(demo_env["AWS_SECRET_ACCESS_KEY"]) >= 8, "MinIO wants 8 characters or more"


def test_the_image_installs_every_package_the_commands_import(compose: dict) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("storage", "workers", "producer", "simulator"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "pip install ." in dockerfile
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["command"][0] in ("celery", *scripts), name


def test_procfile_starts_redis_a_worker_per_exchange_and_flower_on_configurable_ports() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    procs = dict(line.split(": ", 1) for line in lines if line.strip())
    assert set(procs) == {"redis", "flower", *(f"worker_{n}" for n in ADAPTERS)}
    redis = shlex.split(procs["redis"])
    assert redis[redis.index("--bind") + 1] == "127.0.0.1"
    assert redis[redis.index("--port") + 1] == "${REDIS_PORT:-6379}"
    assert "--port=${FLOWER_PORT:-5555}" in procs["flower"]
    for name in ADAPTERS:
        assert f"-Q {name}" in procs[f"worker_{name}"]


def test_an_empty_url_variable_means_the_default_so_compose_can_pass_it_through() -> None:
    settings = Settings.from_env({"BINANCE_SPOT_URL": "", "BINANCE_USDM_URL": "http://sim:9001"})
    assert settings.urls[("binance", "spot")] == ADAPTERS["binance"].base_urls["spot"]
    assert settings.urls[("binance", "usdm")] == "http://sim:9001"


FAKE_PYTHON = """#!/bin/sh
# python3 of a fresh Debian/Ubuntu: no ensurepip until python3-venv is installed.
if [ "$1" = "-c" ]; then [ -e "$FAKE_ROOT/venv-installed" ]; exit $?; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  [ -e "$FAKE_ROOT/venv-installed" ] || { echo "ensurepip is not available" >&2; exit 1; }
  mkdir -p "$3/bin" && printf '#!/bin/sh\\necho "pip $*" >> "$FAKE_ROOT/log"\\n' > "$3/bin/pip"
  chmod +x "$3/bin/pip"; exit 0
fi
exit 1
"""
FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> "$FAKE_ROOT/log"
case " $* " in *" python3-venv "*) touch "$FAKE_ROOT/venv-installed";; esac
"""


def test_make_setup_installs_python3_venv_where_python3_lacks_it(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, text in (("python3", FAKE_PYTHON), ("apt-get", FAKE_APT)):
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    (fake / "redis-server").write_text("#!/bin/sh\n")  # present: `make redis` installs nothing
    (fake / "redis-server").chmod(0o755)
    venv = tmp_path / "venv"
    env = {"PATH": f"{fake}:/usr/bin:/bin", "FAKE_ROOT": str(tmp_path)}
    result = subprocess.run(
        ["make", "-C", str(ROOT), "setup", f"VENV={venv}", "SUDO="],
        # Not the MAKEFLAGS of a `make test` that runs this test: this make starts fresh.
        env={**{k: v for k, v in os.environ.items() if "MAKE" not in k}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    log = (tmp_path / "log").read_text().splitlines()
    assert "apt-get install -y -qq python3-venv" in log
    assert any(line.startswith("pip install --quiet -e") for line in log)
    assert (venv / "bin" / ".installed").exists()


def test_every_url_and_budget_variable_reaches_every_shardfetch_container(compose: dict) -> None:
    names = [
        var
        for name, adapter in ADAPTERS.items()
        for var in (
            *(url_var(name, market) for market in adapter.base_urls),
            *(budget_var(name, group) for group in adapter.rate_limits),
        )
    ]
    for service in ("flower", "demo", *(f"worker-{n}" for n in ADAPTERS)):
        env = env_of(compose["services"][service])
        missing = [var for var in names if env.get(var) != f"${{{var}:-}}"]
        assert not missing, (service, missing)


def test_an_empty_budget_variable_means_the_published_default() -> None:
    settings = Settings.from_env(
        {"GATEIO_SPOT_CANDLES_RATE_LIMIT": "", "BYBIT_IP_RATE_LIMIT": "50/5"}
    )
    assert settings.budgets[("gateio", "spot_candles")].weight == 190
    assert settings.budgets[("bybit", "ip")].weight == 50
