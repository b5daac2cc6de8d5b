"""The ingestion benchmark runs end to end (with a small N) and prints its figures."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_benchmark_prints_its_figures(new_database):
    url = new_database("bench")
    command = [sys.executable, str(BENCH), "--headers", "3000", "--sample", "600"]
    result = subprocess.run(
        [*command, "--database-url", url], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for figure in ("parse (targeted card reader)", "astropy Header.fromstring",
                   "card reader / astropy", "database load", "total", "peak memory"):  # fmt: skip
        assert figure in result.stdout
