"""sysmon-hunt against planted attacks: detection rate and false-positive hosts, per setting.

Generates events with ``bench/generate_sysmon_events.py`` (fixed seed), runs the use case's
``load()`` in batch in-process over a local SparkContext (the events read as the conf's
``format = json`` reads JSON lines: one object a line), and prints a markdown table: each
setting, the planted hosts by signal, those found with their signal, the detection rate, and the
hosts flagged that were not planted.

    .venv/bin/python bench/sysmon_ground_truth.py --events 200000
"""

# ruff: noqa: E501 - Windows paths and command lines read best on one line

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate_sysmon_events  # noqa: E402

from datashark.loading.codeimport import import_file, unique_module_name  # noqa: E402

USE_CASE = ROOT / "conf" / "sysmon-hunt" / "sysmon-hunt.py"
SETTINGS: list[tuple[str, dict[str, str]]] = [
    ("defaults (60-min windows)", {}),
    ("`window_minutes = 5`", {"window_minutes": "5"}),
    ("`exclude_machine_accounts = false`", {"exclude_machine_accounts": "false"}),
    (
        r"`lsass_readers` = Defender only",
        {"lsass_readers": r"c:\programdata\microsoft\windows defender\platform\*\msmpeng.exe"},
    ),
]


def short(host: str) -> str:
    return host.split(".", 1)[0].lower()


def run(sc, hunt, path: Path, conf: dict[str, str]) -> list[tuple]:
    events = sc.textFile(str(path)).map(json.loads)
    return hunt.load(events, conf).collect()


def row(label: str, planted: dict[str, str], findings: list[tuple]) -> str:
    flagged: dict[str, set[str]] = {}
    for host, _score, metadata in findings:
        flagged.setdefault(host, set()).update(metadata["signals"])
    by_signal = Counter(planted.values())
    found = Counter(signal for host, signal in planted.items() if signal in flagged.get(short(host), ()))
    planted_hosts = {short(host) for host in planted}
    false_positives = sorted(host for host in flagged if host not in planted_hosts)
    missed = sorted(f"{short(h)} ({s})" for h, s in planted.items() if s not in flagged.get(short(h), ()))
    signals = ", ".join(f"{signal} {found[signal]}/{by_signal[signal]}" for signal in sorted(by_signal))
    rate = sum(found.values()) / len(planted)
    fp = f"{len(false_positives)}" + (
        f" ({', '.join(false_positives[:4])}{'…' if len(false_positives) > 4 else ''})"
        if false_positives
        else ""
    )
    return f"| {label} | {len(planted)}: {signals} | {sum(found.values())} | {rate:.0%} | {fp} |" + (
        f" missed: {', '.join(missed)}" if missed else ""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from pyspark import SparkConf, SparkContext

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers need dataShark's packages
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

    hunt = import_file(USE_CASE, unique_module_name("sysmon_hunt_truth", USE_CASE))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sysmon.json"
        generate_sysmon_events.write(path, args.events, args.seed)
        planted = json.loads(Path(f"{path}.truth.json").read_text())["planted"]
        sc = SparkContext(
            conf=SparkConf()
            .setMaster("local[2]")
            .setAppName("sysmon-ground-truth")
            .set("spark.ui.showConsoleProgress", "false")
        )
        sc.setLogLevel("ERROR")
        try:
            print(f"{args.events:,} events (seed {args.seed}), {len(planted)} planted hosts\n")
            print(
                "| setting | planted hosts by signal (found/planted) | detected | detection rate | false-positive hosts |"
            )
            print("|---|---|---|---|---|")
            for label, conf in SETTINGS:
                print(row(label, planted, run(sc, hunt, path, conf)))
        finally:
            sc.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
