"""The OiDB benchmark runs end to end (a few generated files) and prints its figures."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "oidb.py"
FIGURES = (
    "read+validate",
    "extract granules",
    "astropy fits.open",
    "read+validate+extract / astropy plain read",
    "ingest_file end to end",
    "database write (ingest_file - read)",
    "files/s",
    "size check",
    "drawn (cache empty)",
    "ms per granule",
    "TAP TOP 1 without a cone",
    "from the cache",
    "TAP /tap/sync on ivoa.obscore",
    "TAP / SQL (p50)",
)


def test_benchmark_prints_its_figures():
    command = [sys.executable, str(BENCH), "--files", "24", "--stage-sample", "6",
               "--previews", "2", "--cones", "5"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for figure in FIGURES:
        assert figure in result.stdout
    generated = result.stdout.split("generated files: 24 files, stages timed on 6 of them")[1]
    assert "ingest_file: 24 files" in generated and " 0 rejected" in generated
