"""``datashark alert``: ElastAlert2 on the findings of the use cases that write to Elasticsearch,
with the rules shipped beside them (``conf/<use case>/elastalert/*.yaml``).

Checks the confs and rules (one line naming the file and key at fault), makes ElastAlert2's
environment when it is missing, creates its writeback indices, writes its config and the rules
into a private folder removed at the end, and runs it in the foreground (``--once``: each rule
once, then back). Its exit code is the command's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from datashark import console
from datashark.alerting import environment
from datashark.alerting.config_file import elastalert_config, write_config, write_private
from datashark.alerting.findings import Findings, default_confs, findings_of, one_cluster
from datashark.alerting.rules import Rule, collect_rules
from datashark.alerting.writeback import ensure_writeback, mappings_folder

DRIVER = Path(__file__).with_name("driver.py")
DEFAULT_WRITEBACK_INDEX = "datashark_elastalert"
# Variables ElastAlert2 reads instead of its config's keys (elastalert.util.build_es_conn_config):
# left over in a shell, they would send it elsewhere or log in as someone else.
OVERRIDING_VARIABLES = (
    "ES_HOST",
    "ES_PORT",
    "ES_HOSTS",
    "ES_USERNAME",
    "ES_PASSWORD",
    "ES_API_KEY",
    "ES_BEARER",
    "ES_USE_SSL",
)
# requests prefers these to the verify path the client sets: with them, ca_certs would be ignored.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class AlertRun:
    """What ``datashark alert`` was asked to do."""

    confs: tuple[Path, ...] = ()  # empty: every conf writing to Elasticsearch with rules beside it
    once: bool = False
    start: str | None = None  # ISO 8601, as ElastAlert2's --start/--end take them
    end: str | None = None
    writeback_index: str = DEFAULT_WRITEBACK_INDEX
    venv: Path | None = None  # default: <home>/.cache/elastalert2/venv
    python: str = "python3"  # the interpreter that makes the environment


def run_alert(home: Path, run: AlertRun) -> int:
    """Run ElastAlert2 as ``run`` says; its exit code (ConfigError before it starts)."""
    confs = list(run.confs) or default_confs(home)
    findings = [findings_of(home, conf) for conf in confs]
    connection = one_cluster(findings)
    rules = collect_rules(findings)
    venv = run.venv or environment.default_folder(home)
    python = environment.ensure_environment(venv, run.python)
    created = ensure_writeback(connection, run.writeback_index, mappings_folder(venv))
    if created:
        console.info(f"ElastAlert2: created its indices {', '.join(created)} on {connection.where}")
    with tempfile.TemporaryDirectory(prefix="datashark-elastalert-") as folder:  # 0700
        command = _prepare(Path(folder), findings[0], rules, run, python)
        names = ", ".join(rule.name for rule in rules)
        console.info(f"ElastAlert2: {len(rules)} rules ({names}) on {connection.where}")
        return _foreground(command, _environment(connection.ca_certs))


def _prepare(folder: Path, findings: Findings, rules: list[Rule], run: AlertRun, python: Path) -> list[str]:
    """The config and the rules' copies in ``folder``; the command that runs ElastAlert2 on them."""
    rules_folder = folder / "rules"
    sources: dict[str, str] = {}
    subfolders: dict[Path, str] = {}  # a use case folder's rules go to rules/<n>-<its name>/
    for rule in rules:
        subfolder = subfolders.setdefault(
            rule.path.parent, f"{len(subfolders) + 1}-{rule.path.parent.parent.name}"
        )
        copy = rules_folder / subfolder / rule.path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rule.path, copy)
        sources[str(copy)] = str(rule.path)
    config = elastalert_config(findings.connection, findings.where, rules_folder, run.writeback_index)
    write_config(folder / "config.yaml", config)
    write_private(folder / "sources.json", json.dumps(sources))
    command = [str(python), str(DRIVER), "--sources", str(folder / "sources.json")]
    command += ["--config", str(folder / "config.yaml"), "--verbose", "--pin_rules"]
    command += ["--once"] if run.once else []
    command += ["--start", run.start] if run.start else []
    command += ["--end", run.end] if run.end else []
    return command


def _environment(ca_certs: str | None) -> dict[str, str]:
    """This process's environment, less what would override ElastAlert2's config."""
    dropped = OVERRIDING_VARIABLES + (CA_BUNDLE_VARIABLES if ca_certs else ())
    return {name: value for name, value in os.environ.items() if name not in dropped}


def _foreground(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` until it ends; SIGTERM is passed on (Ctrl-C reaches it from the terminal)."""
    process = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue  # ElastAlert2 got the same SIGINT and is stopping
    finally:
        signal.signal(signal.SIGTERM, previous)
