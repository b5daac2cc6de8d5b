"""The OiDB benchmark runs end to end (a few generated files) and prints its figures."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "oidb.py"


def test_benchmark_prints_its_figures():
    command = [sys.executable, str(BENCH), "--files", "24", "--previews", "2", "--cones", "5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for figure in ("read+validate", "extract granules", "database write (ingest_file - read)",
                   "astropy fits.open", "read+validate+extract / astropy plain read",
                   "files/s", "size check", "drawn (cache empty)", "from the cache",
                   "TAP /tap/sync on ivoa.obscore", "TAP / SQL (p50)"):  # fmt: skip
        assert figure in result.stdout
    assert "generated files: 24 files" in result.stdout
    assert " 0 rejected" in result.stdout.split("generated files:")[1]
