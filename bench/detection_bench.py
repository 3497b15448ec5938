"""Detections benchmark: each shipped detection through standalone.sh against a parse-and-count job.

For each shipped detection: generate its input if missing (``--events`` lines, fixed seed, into
bench/data/: bench/generate_detection_events.py for the log detections, generate_dns_traffic.py,
generate_beacon_traffic.py and generate_sysmon_events.py for the telemetry ones),
write a copy of its conf that reads that file as a batch and writes its CSV to bench/results/
(``code =`` pointing at the shipped conf/<name>/<name>.py), then run in turn, ``--runs`` pairs:

* baseline: ``bench/handwritten_parse_count.py <name> <file> <csv>``, plain PySpark on local[2];
* dataShark: ``DATASHARK_HOME=bench/results/detections-home ./standalone.sh <copied conf>``, the
  home's datashark.conf being the repository's with ``spark.master = local[2]`` in
  ``[spark_config]`` (standalone.sh's master is local[*]; a user pins it there).

Printed per detection: events, wall seconds and events/s of both, the ratio baseline/dataShark
of wall and CPU time (medians of the pairs; the issue's target is >= 0.5), the Python driver's
peak RSS, and the findings (rows of the detection's CSV). With ``--memory-events`` (default
twice ``--events``; 0: off), dataShark also runs once on that many events, to show whether the
driver's peak grows with the input. Nothing is asserted: it prints a table.

The timing, CPU sampling and driver-RSS hook are run.py's (see bench/README.md).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from configobj import ConfigObj

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_detection_events as generator
from run import BENCH, DATA, RESULTS, ROOT, Run, timed, venv_python

DETECTIONS = (
    "ssh-brute-force",
    "web-attacks",
    "port-scan",
    "threat-intel",
    "dns-analytics",
    "beaconing",
    "sysmon-hunt",
)
# The telemetry detections' inputs come from their own generators (with planted attackers).
GENERATORS = {
    "dns-analytics": "generate_dns_traffic",
    "beaconing": "generate_beacon_traffic",
    "sysmon-hunt": "generate_sysmon_events",
}
HOME = RESULTS / "detections-home"  # DATASHARK_HOME of the dataShark side (generated)
INDICATORS = DATA / "detections" / "threat-intel-indicators.intel"
MASTER = "local[2]"


@dataclass
class Measured:
    """What one detection's runs gave."""

    detection: str
    events: int
    baseline: list[Run] = field(default_factory=list)
    datashark: list[Run] = field(default_factory=list)
    findings: int = 0
    baseline_rows: int = 0
    larger: tuple[int, Run, int] | None = None  # (events, the dataShark run, findings)


def input_file(detection: str, events: int) -> Path:
    """The generated input of ``detection`` with ``events`` lines, written first if missing."""
    path = DATA / "detections" / f"{detection}-{events}.log"
    if not path.exists():
        began = time.monotonic()
        if detection in GENERATORS:
            generate_apart(GENERATORS[detection], path, events)
        else:
            generator.write(detection, path, events)
        print(f"generated {path} ({time.monotonic() - began:.1f} s)", flush=True)
    if detection == "threat-intel" and not INDICATORS.exists():
        generator.write_indicators(INDICATORS)
    return path


def generate_apart(module: str, path: Path, events: int) -> None:
    """``module.write(path, events)`` in a process of its own: a generator that sorts its records
    in memory would otherwise grow this process, and Linux hands a forked child its parent's peak
    RSS, so every driver started after it would report that peak as its own."""
    code = f"import sys; sys.path.insert(0, {str(BENCH)!r}); import {module}; {module}.write(" + (
        f"__import__('pathlib').Path({str(path)!r}), {events})"
    )
    subprocess.run([venv_python(), "-c", code], check=True)


def prepare_home() -> None:
    """The dataShark home of the benchmark: the repository's datashark.conf with the master pinned,
    its plugins and lib folders linked."""
    HOME.mkdir(parents=True, exist_ok=True)
    settings = ConfigObj(str(ROOT / "datashark.conf"), list_values=False, interpolation=False)
    settings.filename = str(HOME / "datashark.conf")
    settings.setdefault("spark_config", {})["spark.master"] = MASTER
    settings.write()
    for folder in ("plugins", "lib"):
        link = HOME / folder
        if not link.is_symlink():
            link.symlink_to(ROOT / folder)


def detection_conf(detection: str, data: Path) -> tuple[Path, Path]:
    """A copy of the shipped conf reading ``data`` as a batch; (its path, the CSV it writes)."""
    shipped = ROOT / "conf" / detection
    conf = ConfigObj(str(shipped / f"{detection}.conf"), list_values=False, interpolation=False)
    output = RESULTS / f"datashark-{detection}.csv"
    conf["type"] = "batch"
    conf["code"] = str(shipped / f"{detection}.py")
    conf["file"] = str(data)
    conf["output"] = "csv"
    conf["out_csv"]["path"] = str(output)
    conf["out_csv"]["mode"] = "overwrite"
    if "grok_patterns_dir" in conf:
        conf["grok_patterns_dir"] = str(shipped / conf["grok_patterns_dir"])
    if detection == "threat-intel":
        conf["indicators"] = str(INDICATORS)
    folder = HOME / "conf" / detection
    folder.mkdir(parents=True, exist_ok=True)
    conf.filename = str(folder / f"{detection}.conf")
    conf.write()
    return Path(conf.filename), output


def csv_rows(path: Path, header: bool) -> int:
    """Rows of a CSV file (quoted fields may hold line breaks), its header left out."""
    with open(path, newline="", encoding="utf-8") as rows:
        return max(0, sum(1 for _ in csv.reader(rows)) - (1 if header else 0))


def run_datashark(detection: str, events: int) -> tuple[Run, int]:
    """One dataShark run on ``events`` events: the run and its findings."""
    conf, output = detection_conf(detection, input_file(detection, events))
    warm(input_file(detection, events))
    os.environ["DATASHARK_HOME"] = str(HOME)
    try:
        run = timed([str(ROOT / "standalone.sh"), str(conf)], RESULTS / f"datashark-{detection}.log")
    finally:
        del os.environ["DATASHARK_HOME"]
    return run, csv_rows(output, header=True)


def run_baseline(detection: str, events: int) -> tuple[Run, int]:
    """One run of the hand-written parse-and-count job: the run and its rows."""
    data, output = input_file(detection, events), RESULTS / f"baseline-{detection}.csv"
    warm(data)
    command = [venv_python(), str(BENCH / "handwritten_parse_count.py"), detection, str(data), str(output)]
    return timed(command, RESULTS / f"baseline-{detection}.log"), csv_rows(output, header=False)


def warm(path: Path) -> None:
    """Read ``path`` once untimed, so that each side finds it in the page cache."""
    with open(path, "rb") as data:
        while data.read(1 << 24):
            pass


def measure(detection: str, events: int, runs: int, memory_events: int) -> Measured:
    found = Measured(detection, events)
    for pair in range(1, runs + 1):
        run, found.baseline_rows = run_baseline(detection, events)
        found.baseline.append(run)
        print(f"{detection:16} pair {pair} baseline  {line(events, run)}", flush=True)
        run, found.findings = run_datashark(detection, events)
        found.datashark.append(run)
        print(
            f"{detection:16} pair {pair} dataShark {line(events, run)}  findings {found.findings}", flush=True
        )
    if memory_events:
        run, findings = run_datashark(detection, memory_events)
        found.larger = (memory_events, run, findings)
        print(f"{detection:16} {memory_events:,} events dataShark {line(memory_events, run)}", flush=True)
    return found


def line(events: int, run: Run) -> str:
    return (
        f"wall {run.seconds:6.1f} s  {events / run.seconds:9,.0f} events/s  cpu {run.cpu_seconds:6.1f} s  "
        f"driver peak {run.driver_mib:5.1f} MiB  JVM peak {run.jvm_mib:5.0f} MiB"
    )


def table(results: list[Measured]) -> str:
    """The results as a Markdown table (medians of the pairs; ratios: median of the pairs' ratios)."""
    rows = [
        "| detection | events | baseline: wall, events/s | dataShark: wall, events/s | ratio wall "
        "| ratio cpu | driver peak at N / at M events | findings | baseline rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for found in results:
        pairs = list(zip(found.baseline, found.datashark, strict=True))
        base = statistics.median(run.seconds for run in found.baseline)
        ours = statistics.median(run.seconds for run in found.datashark)
        wall = statistics.median(b.seconds / d.seconds for b, d in pairs)
        cpu = statistics.median(b.cpu_seconds / d.cpu_seconds for b, d in pairs)
        peak = f"{max(run.driver_mib for run in found.datashark):.1f}"
        if found.larger:
            peak += f" / {found.larger[1].driver_mib:.1f} MiB ({found.larger[0]:,})"
        rows.append(
            f"| {found.detection} | {found.events:,} | {base:.1f} s, {found.events / base:,.0f} "
            f"| {ours:.1f} s, {found.events / ours:,.0f} | **{wall:.2f}** | {cpu:.2f} | {peak} "
            f"| {found.findings} | {found.baseline_rows:,} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per input (default 1000000)")
    parser.add_argument("--runs", type=int, default=1, help="baseline/dataShark pairs (default 1)")
    parser.add_argument("--only", choices=DETECTIONS, action="append", help="this detection (repeatable)")
    parser.add_argument(
        "--memory-events",
        type=int,
        help="also run dataShark once on this many events, for the driver's peak (default 2 x --events)",
    )
    args = parser.parse_args(argv)
    memory_events = 2 * args.events if args.memory_events is None else args.memory_events
    RESULTS.mkdir(exist_ok=True)
    if HOME.exists():
        shutil.rmtree(HOME / "conf", ignore_errors=True)
    prepare_home()
    print(f"{os.cpu_count()} cores, master {MASTER}, {args.events:,} events, {args.runs} pair(s)", flush=True)
    results = [measure(name, args.events, args.runs, memory_events) for name in args.only or DETECTIONS]
    print(f"\n{date.today()}, {os.cpu_count()} cores, {sys.argv[0]} {' '.join(sys.argv[1:])}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
