"""How fast the ``preserve`` command answers: ``--help`` and ``--version``, cold processes.

    .venv/bin/python bench/cli_start.py [--runs N]

In one run, each measured N times as a new process (median wall time): the Python interpreter
doing nothing (the floor no command can beat), ``python -c 'import typer'`` (the CLI library
alone), ``preserve --help`` and ``preserve --version``. Prints each median and its ratio to
the interpreter's. The goal is ``--help`` under 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "preserve --help": [sys.executable, "-m", "preserve", "--help"],
    "preserve --version": [sys.executable, "-m", "preserve", "--version"],
}


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    results = {name: median_seconds(cmd, runs) for name, cmd in CASES.items()}
    floor = results["python -c pass (baseline)"]
    for name, seconds in results.items():
        print(f"{name:32} {seconds * 1000:8.1f} ms   {seconds / floor:5.1f}x the interpreter")
    verdict = "met" if results["preserve --help"] < 0.5 else "NOT met"
    print(f"goal --help < 0.5 s: {verdict}")


if __name__ == "__main__":
    main()
