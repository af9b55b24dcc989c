"""`producer status` starts without pyarrow (0.15 s of its 0.25 s start-up): a command that
only reads the ledger must not import what writing files needs."""

from __future__ import annotations

import subprocess
import sys


def test_the_status_command_imports_neither_pyarrow_nor_an_adapter(tmp_path) -> None:
    probe = (
        "import sys\n"
        "import fakeredis\n"
        "from click.testing import CliRunner\n"
        "from producer import cli\n"
        "cli.redis_client = lambda url: fakeredis.FakeRedis()\n"
        "result = CliRunner().invoke(cli.main, ['status'])\n"
        "assert result.exit_code == 0, result.output\n"
        # (numpy is not checked: fakeredis, standing in for Redis here, imports it)
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'pandas',"
        " 'boto3') or m.startswith('workers.exchanges.binance'))\n"
        "print(result.output)\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    *shown, imported = out.stdout.strip().splitlines()
    assert "Nothing planned yet" in "\n".join(shown), "the status command ran to its end"
    assert imported == "[]", imported
