"""Wordcount A/B: dataShark (standalone.sh) against the hand-written PySpark baseline.

Generates the input if missing, points bench/data/input.txt at it, then runs the two in
turn (baseline, dataShark, baseline, ...) and prints each one's wall time, the ratio
baseline/dataShark (1.0: the framework costs nothing; >= 0.9: it costs under 10%), the CPU
seconds of all its processes (driver, JVM, Python workers, sampled from /proc: a figure a
busy machine disturbs less than wall time), the peak RSS of the Python driver (recorded by
rss_hook/sitecustomize.py inside the very process that ran) and the peak RSS of the JVM.
Finally it checks that both CSV files hold the same (key, count) rows.

Everything here is standard Python and the two commands a user would type.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA, RESULTS = BENCH / "data", BENCH / "results"
CONF = BENCH / "wordcount_usecase" / "bench_wordcount.conf"
INPUT_LINK = DATA / "input.txt"  # what CONF's `file = ../data/input.txt` reads
DATASHARK_CSV = RESULTS / "datashark_wordcount.csv"  # CONF's [out_csv] path
BASELINE_CSV = RESULTS / "handwritten_wordcount.csv"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One timed run: wall seconds, CPU seconds of the whole tree, peak resident memory in MiB."""

    seconds: float
    cpu_seconds: float
    driver_mib: float
    jvm_mib: float


def venv_python() -> str:
    """The interpreter standalone.sh uses (bin/venv-python's rule), so both sides run the same one."""
    recorded = ROOT / ".datashark-venv"
    venv = Path(recorded.read_text().strip()) if recorded.is_file() else ROOT / ".venv"
    return str(venv / "bin" / "python")


def session(sid: int) -> dict[int, tuple[str, str, float, int]]:
    """``pid: (name, state, CPU seconds, VmHWM KiB)`` of every process of session ``sid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
            fields = stat[stat.rindex(")") + 2 :].split() if stat else []
            if not fields or int(fields[3]) != sid:  # stat field 6: session id
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue  # it exited meanwhile
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0)
        found[int(entry.name)] = (stat[stat.index("(") + 1 : stat.rindex(")")], fields[0], cpu, hwm)
    return found


def watch(sid: int, seen: dict[int, tuple[str, str, float, int]], done: threading.Event) -> None:
    """Sample the session every 0.25 s until ``done``, keeping each process's latest figures.

    Polling, because rusage cannot see the Python workers: their daemon ignores SIGCHLD, so the
    kernel reaps them without accounting. A process's last quarter second can go unseen; VmHWM
    is a high-water mark, so it loses at most the growth of that quarter second.
    """
    while not done.wait(0.25):
        for pid, figures in session(sid).items():
            if figures[1] != "Z":  # a zombie's status has no VmHWM left
                seen[pid] = figures


def timed(command: list[str], log: Path) -> Run:
    """Run ``command`` (output to ``log``) in a session of its own, whose id is the driver's pid
    (standalone.sh and bin/datashark ``exec`` into Python); the JVM and workers join it."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss, open(log, "w") as out:
        path = os.pathsep.join(filter(None, [str(BENCH / "rss_hook"), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "BENCH_DRIVER_RSS_FILE": rss.name}
        seen: dict[int, tuple[str, str, float, int]] = {}
        done = threading.Event()
        began = time.monotonic()
        child = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        poller = threading.Thread(target=watch, args=(child.pid, seen, done), daemon=True)
        poller.start()
        _, status, driver = os.wait4(child.pid, 0)
        seconds = time.monotonic() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        # The JVM outlives the driver by a second or so: sample it to the end, and keep it from
        # slowing the next run.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(f[1] != "Z" for f in session(child.pid).values()):
            time.sleep(0.1)
        done.set()
        poller.join()
        if child.returncode != 0:
            sys.exit(f"{command[0]} failed (exit {child.returncode}); see {log}")
        driver_kib = int(dict(part.split("=") for part in rss.read().split())["self"])
    seen.pop(child.pid, None)  # the driver: its exact rusage instead
    cpu = driver.ru_utime + driver.ru_stime + sum(f[2] for f in seen.values())
    jvm_kib = max((f[3] for f in seen.values() if f[0] == "java"), default=0)
    return Run(seconds, cpu, driver_kib / 1024, jvm_kib / 1024)


def rows_digest(path: Path) -> tuple[int, int]:
    """(row count, order-free sum of the hashes of ``key,count``): the time column differs."""
    count = total = 0
    with open(path, encoding="utf-8") as rows:
        for line in rows:
            count += 1
            total += hash(line[line.index(",") + 1 :])
    return count, total % (1 << 64)


def describe(name: str, runs: list[Run]) -> str:
    """Median times and peak memories of ``runs``, on one line."""
    return (
        f"{name:9} wall {statistics.median(r.seconds for r in runs):6.1f} s  "
        f"cpu {statistics.median(r.cpu_seconds for r in runs):6.1f} s  "
        f"driver peak {max(r.driver_mib for r in runs):5.1f} MiB  "
        f"JVM peak {max(r.jvm_mib for r in runs):5.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="input size, as generate_text.py (default 1G)")
    parser.add_argument("--vocabulary", type=int, default=10_000, help="distinct words (default 10000)")
    parser.add_argument("--runs", type=int, default=1, help="A/B pairs to run (default 1)")
    parser.add_argument(
        "--baseline-prefetch",
        action="store_true",
        help="baseline with toLocalIterator(prefetchPartitions=True)",
    )
    args = parser.parse_args(argv)
    python = venv_python()
    data = DATA / f"words-{args.size}-v{args.vocabulary}.txt"
    if not data.exists():
        generator = [python, str(BENCH / "generate_text.py"), str(data), "--size", args.size]
        subprocess.run([*generator, "--vocabulary", str(args.vocabulary)], check=True)
    INPUT_LINK.unlink(missing_ok=True)
    INPUT_LINK.symlink_to(data.name)
    RESULTS.mkdir(exist_ok=True)
    # Read the input once untimed, so it is in the page cache for both sides.
    subprocess.run(["cat", str(data)], stdout=subprocess.DEVNULL, check=True)
    commands = {
        "baseline": [python, str(BENCH / "handwritten_wordcount.py"), str(INPUT_LINK), str(BASELINE_CSV)],
        "dataShark": [str(ROOT / "standalone.sh"), str(CONF)],
    }
    if args.baseline_prefetch:
        commands["baseline"].append("--prefetch")
    print(f"input {data} ({data.stat().st_size:,} bytes), {os.cpu_count()} cores, {args.runs} pair(s)")
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for pair in range(1, args.runs + 1):
        for name, command in commands.items():
            runs[name].append(timed(command, RESULTS / f"{name}.log"))
            print(f"pair {pair:<3} {describe(name, runs[name][-1:])}", flush=True)
    for name, done in runs.items():
        print(f"median   {describe(name, done)}")
    pairs = list(zip(runs["baseline"], runs["dataShark"], strict=True))
    wall = statistics.median(b.seconds / d.seconds for b, d in pairs)
    cpu = statistics.median(b.cpu_seconds / d.cpu_seconds for b, d in pairs)
    print(f"ratio baseline/dataShark, median of pairs: wall {wall:.3f}, cpu {cpu:.3f}")
    digest = rows_digest(DATASHARK_CSV)
    same = digest == rows_digest(BASELINE_CSV)
    print(f"rows: {digest[0]:,}; same (key, count) rows in both CSVs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
