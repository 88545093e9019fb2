"""What the pytest plugin costs a test session that never uses it (issue #12, part 7).

    python -m benchmarks.bench_plugin_import            # 15 rounds
    python -m benchmarks.bench_plugin_import --rounds 31

Runs ``pytest --co -q -p no:cacheprovider`` in an empty directory, alternately with the
plugin (as every user who installs the package gets it) and with ``-p no:okta_connections``,
and prints the median wall time of each and their difference, then the median time to
import the plugin module in a fresh interpreter that has imported pytest already. Alternating the two makes a
noisy neighbour slow both alike. The budget is a difference under 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def _once(cwd: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra],
        cwd=cwd,
        capture_output=True,
        check=False,  # exit 5: no tests collected, as expected
        timeout=120,
    )
    return time.perf_counter() - started


_IMPORT_PROBE = (
    "import time, pytest\n"
    "t = time.perf_counter()\n"
    "import okta_connections.testing.pytest_plugin\n"
    "print(time.perf_counter() - t)\n"
)


def _import_once() -> float:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True
    ).stdout
    return float(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    with_plugin: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as empty:
        _once(empty)  # warm the file cache
        for _ in range(args.rounds):
            with_plugin.append(_once(empty))
            without.append(_once(empty, "-p", "no:okta_connections"))
    a, b = statistics.median(with_plugin), statistics.median(without)
    print(f"pytest --co, empty directory, {args.rounds} rounds (medians):")
    print(f"  with the plugin     {a * 1000:7.1f} ms")
    print(f"  without the plugin  {b * 1000:7.1f} ms")
    print(f"  difference          {(a - b) * 1000:7.1f} ms (budget 50 ms)")
    paired = statistics.median(x - y for x, y in zip(with_plugin, without, strict=True))
    print(f"  median of paired differences {paired * 1000:.1f} ms")
    # The same cost without pytest's own start-up noise: importing the plugin module in a
    # fresh interpreter that has already imported pytest.
    imports = [_import_once() for _ in range(args.rounds)]
    print(f"  importing the plugin after pytest: {statistics.median(imports) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
