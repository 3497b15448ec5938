"""Ground truth of the beaconing detection: planted beacons, long-lived connections and uploads
found, and benign sources flagged, over generated Zeek conn.log days (generate_beacon_traffic.py)
at a few settings of the planted beacons (jitter, missed beats) and of the detection's keys.

Each setting writes its day (``--events`` records, fixed seed) under bench/data/beacon-truth/,
then runs conf/beaconing/beaconing.py's ``load()`` as a batch in-process on a local SparkContext
(``local[2]``), its events parsed as ``format = zeek`` parses Zeek JSON (``zeek_json``, ``ts`` as
``@timestamp``). It prints a Markdown table:

* planted: planted pairs (one per planted source) of each kind;
* detected: planted sources whose finding has the planted kind's signal;
* benign periodic flagged: sources with a telemetry heartbeat or IMAP polling (true beacons,
  benign: allow-list them) that were flagged;
* false-positive sources: flagged sources that are neither.

    .venv/bin/python bench/beacon_ground_truth.py --events 200000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate_beacon_traffic as generator  # noqa: E402

from datashark.events.zeek import zeek_json  # noqa: E402
from datashark.loading.codeimport import import_file, unique_module_name  # noqa: E402

DATA = ROOT / "bench" / "data" / "beacon-truth"
CODE = ROOT / "conf" / "beaconing" / "beaconing.py"
SIGNAL = {"beacon": "beacon", "long_connection": "long_connection", "exfiltration": "exfiltration"}


@dataclass(frozen=True)
class Setting:
    """One row: how the beacons are planted and the keys the detection runs with."""

    label: str
    jitter: float | None
    missed: float | None
    conf: dict[str, Any]


SETTINGS = (
    Setting("beacons: jitter 10 %, no missed beat; defaults", 0.1, 0.0, {}),
    Setting("beacons: jitter 30 %, 10 % missed; defaults", 0.3, 0.1, {}),
    Setting("beacons: jitter 50 %, 20 % missed; defaults", 0.5, 0.2, {}),
    Setting(
        "beacons: jitter 50 %, 20 % missed; max_jitter 0.35, min_on_beat 0.45",
        0.5,
        0.2,
        {"max_jitter": 0.35, "min_on_beat": 0.45},
    ),
    Setting("beacons: mixed (jitter 0-50 %, missed 0-20 %); defaults", None, None, {}),
)


def parsed(line: str) -> dict | None:
    """A Zeek JSON line as ``format = zeek`` gives it to ``load()``."""
    try:
        event = zeek_json(line)
    except Exception:
        return None
    event["@timestamp"] = event.get("ts")
    return event


def findings(sc, module, path: Path, conf: dict) -> list[tuple]:
    events = sc.textFile(str(path), minPartitions=4).map(parsed).filter(lambda event: event is not None)
    return module.load(events, conf).collect()


def row(setting: Setting, truth: dict, found: list[tuple]) -> str:
    flagged = {key: metadata for key, _, metadata in found}
    planted = Counter(item["kind"] for item in truth["planted"])
    detected = Counter(
        item["kind"]
        for item in truth["planted"]
        if SIGNAL[item["kind"]] in flagged.get(item["source"], {}).get("signals", [])
    )
    benign = {item["source"] for item in truth["benign_periodic"]}
    planted_sources = {item["source"] for item in truth["planted"]}
    benign_flagged = len(benign & flagged.keys())
    false_positives = sorted(flagged.keys() - benign - planted_sources)
    kinds = ("beacon", "long_connection", "exfiltration")
    total, hits = sum(planted.values()), sum(detected.values())
    cells = " | ".join(f"{detected[k]}/{planted[k]}" for k in kinds)
    shown = ", ".join(false_positives[:5]) + (" ..." if len(false_positives) > 5 else "")
    return (
        f"| {setting.label} | {total} | {cells} | {hits / total:.0%} | {benign_flagged}/{len(benign)} "
        f"| {len(false_positives)}{': ' + shown if shown else ''} |"
    )


def missed_beacons(truth: dict, found: list[tuple]) -> list[str]:
    flagged = {key: metadata for key, _, metadata in found}
    return [
        f"{item['source']} period={item['period']} jitter={item['jitter']} missed={item['missed']} "
        f"burst={item['burst']} connections={item['connections']}"
        for item in truth["planted"]
        if item["kind"] == "beacon" and "beacon" not in flagged.get(item["source"], {}).get("signals", [])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20250303)
    parser.add_argument("--verbose", action="store_true", help="list the planted beacons not found")
    args = parser.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers need this venv's modules
    from pyspark import SparkConf, SparkContext

    conf = SparkConf().setMaster("local[2]").setAppName("beacon-ground-truth")
    sc = SparkContext(conf=conf.set("spark.ui.showConsoleProgress", "false"))
    sc.setLogLevel("ERROR")
    module = import_file(CODE, unique_module_name("beaconing_truth", CODE))
    rows = [
        "| setting | planted | beacon found | long connection found | exfiltration found | detection rate "
        "| benign periodic flagged | false-positive sources |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = []
    try:
        for setting in SETTINGS:
            name = f"{args.events}-{args.seed}-j{setting.jitter}-m{setting.missed}.log"
            path = DATA / name
            if not path.exists():
                generator.write(path, args.events, args.seed, jitter=setting.jitter, missed=setting.missed)
            truth = json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))
            found = findings(sc, module, path, setting.conf)
            rows.append(row(setting, truth, found))
            print(rows[-1], flush=True)
            if args.verbose:
                notes.extend(f"{setting.label}: not found: {text}" for text in missed_beacons(truth, found))
    finally:
        sc.stop()
    print(f"\n{args.events:,} records a day, seed {args.seed}\n")
    print("\n".join(rows))
    if notes:
        print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
