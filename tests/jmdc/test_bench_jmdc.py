"""The JMDC benchmark runs end to end (with a small catalogue) and prints its figures."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "jmdc.py"


def test_benchmark_prints_its_figures(new_database):
    url = new_database("bench_jmdc")
    command = [sys.executable, str(BENCH), "--rows", "400", "--runs", "3", "--database-url", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for figure in ("import ", "400 imported", "400 skipped", "import / COPY =",
                   "search by name", 'search by 10" cone', "search by band (K)",
                   "read every row", "export csv", "export xlsx", "export pdf", "export votable",
                   "export / astropy =", "MiB"):  # fmt: skip
        assert figure in result.stdout
