"""Ground truth of conf/dns-analytics: how many planted bad clients it finds, and how many
ordinary ones it flags, on traffic from bench/generate_dns_traffic.py.

For each setting: generate the traffic if missing (bench/data/dns-truth/), write a copy of
dns-analytics.conf reading it as a batch with the setting's keys and a CSV output, run it
through ``./standalone.sh`` (the framework's batch path, on local[2]), and compare the CSV's
client addresses with the truth file. Prints a markdown table.

    .venv/bin/python bench/dns_ground_truth.py [--events 300000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from configobj import ConfigObj

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import generate_dns_traffic  # noqa: E402

DATA = BENCH / "data" / "dns-truth"
HOME = BENCH / "results" / "dns-truth-home"  # DATASHARK_HOME of the runs (generated)
SHIPPED = ROOT / "conf" / "dns-analytics"


@dataclass(frozen=True)
class Setting:
    """One row of the table: a name, the traffic (hard or not) and the conf keys changed."""

    name: str
    hard: bool = False
    keys: dict = field(default_factory=dict)


SETTINGS = (
    Setting("defaults"),
    Setting(
        "stricter (dga 20, tunnel 100, nxdomain 300)",
        keys={"dga_domains_threshold": 20, "tunnel_subdomains_threshold": 100, "nxdomain_threshold": 300},
    ),
    Setting("defaults, quieter attackers", hard=True),
    Setting(
        "looser (dga 5, tunnel 25, nxdomain 100), quieter attackers",
        hard=True,
        keys={"dga_domains_threshold": 5, "tunnel_subdomains_threshold": 25, "nxdomain_threshold": 100},
    ),
)


def traffic(events: int, hard: bool, seed: int) -> Path:
    """The generated log (written first if missing)."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"dns-{events}-{seed}{'-hard' if hard else ''}.log"
    if not path.exists():
        generate_dns_traffic.write(path, events, seed=seed, hard=hard)
    return path


def prepare_home() -> None:
    """A dataShark home: the repository's datashark.conf with two local cores, its plugins and lib."""
    HOME.mkdir(parents=True, exist_ok=True)
    settings = ConfigObj(str(ROOT / "datashark.conf"), list_values=False, interpolation=False)
    settings.filename = str(HOME / "datashark.conf")
    settings.setdefault("spark_config", {})["spark.master"] = "local[2]"
    settings.write()
    for folder in ("plugins", "lib"):
        link = HOME / folder
        if not link.is_symlink():
            link.symlink_to(ROOT / folder)


def run(setting: Setting, log: Path, index: int) -> tuple[list[dict], float]:
    """Run dns-analytics on ``log`` with the setting's keys: its findings and the seconds taken."""
    conf = ConfigObj(str(SHIPPED / "dns-analytics.conf"), list_values=False, interpolation=False)
    output = HOME / f"findings-{index}.csv"
    conf["code"] = str(SHIPPED / "dns-analytics.py")
    conf["file"] = str(log)
    conf["type"] = "batch"
    conf["out_csv"]["path"] = str(output)
    conf["out_csv"]["mode"] = "overwrite"
    for key, value in setting.keys.items():
        conf[key] = str(value)
    folder = HOME / "conf" / "dns-analytics"
    folder.mkdir(parents=True, exist_ok=True)
    conf.filename = str(folder / "dns-analytics.conf")
    conf.write()
    began = time.monotonic()
    with open(HOME / f"run-{index}.log", "w") as console:
        subprocess.run(
            [str(ROOT / "standalone.sh"), conf.filename],
            cwd=ROOT,
            env={**os.environ, "DATASHARK_HOME": str(HOME)},
            stdout=console,
            stderr=subprocess.STDOUT,
            check=True,
        )
    with open(output, newline="", encoding="utf-8") as rows:
        return list(csv.DictReader(rows)), time.monotonic() - began


def row(setting: Setting, events: int, findings: list[dict], truth: dict, seconds: float) -> str:
    """One line of the table. False positives: flagged clients that were not planted (the noisy
    benign ones of the harder traffic among them, named)."""
    flagged = {finding["key"] for finding in findings}
    noisy, truth = truth.get("noisy_benign", []), truth["planted"]
    kinds = Counter(kind.split(":")[0] for kind in truth.values())
    found = Counter(kind.split(":")[0] for client, kind in truth.items() if client in flagged)
    families = sorted(kind for client, kind in truth.items() if client not in flagged)
    false_positives = [_named(client, noisy) for client in sorted(flagged - set(truth))]
    cells = [f"{found[kind]}/{kinds[kind]}" for kind in ("dga", "tunnel", "nxdomain_storm")]
    detected = sum(found.values())
    return (
        f"| {setting.name} | {events:,} | {' | '.join(cells)} | {detected}/{len(truth)} "
        f"({detected / len(truth):.0%}) | {', '.join(families) or '-'} | {len(false_positives)}"
        f"{' (' + ', '.join(false_positives[:5]) + ')' if false_positives else ''}"
        f" | {seconds:.0f} |"
    )


def _named(client: str, noisy: list[str]) -> str:
    return f"{client} noisy benign" if client in noisy else client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=generate_dns_traffic.DEFAULT_SEED)
    args = parser.parse_args(argv)
    prepare_home()
    lines = [
        "| setting | events | DGA found | tunnels found | NXDOMAIN storms found | detected | missed | "
        "false-positive clients | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, setting in enumerate(SETTINGS):
        log = traffic(args.events, setting.hard, args.seed)
        truth = json.loads(log.with_name(log.name + ".truth.json").read_text())
        findings, seconds = run(setting, log, index)
        lines.append(row(setting, args.events, findings, truth, seconds))
        print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
