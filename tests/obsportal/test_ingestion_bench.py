"""The ingestion benchmark runs end to end through the CLI (with a small N) and prints its
figures: the size distribution against the real headers, astropy's rate as the reference."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_benchmark_prints_its_figures(new_database):
    url = new_database("bench")
    command = [sys.executable, str(BENCH), "--count", "1000", "--sample", "200"]
    result = subprocess.run(
        [*command, "--database-url", url], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for figure in ("cards per header", "synthetic", "parse (targeted card reader)",
                   "astropy Header.fromstring", "card reader / astropy",
                   "obsportal ingest --synthetic 1,000", "projected for 1,000,000",
                   "peak memory"):  # fmt: skip
        assert figure in result.stdout
