"""``datashark standalone|run|validate|test|alert|acquire``: the commands behind standalone.sh,
start.sh and acquire.sh.

Exit codes: 0 all went well; 2 bad usage or a bad conf (a person must edit something);
1 a use case failed while it ran.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from datashark import __version__, console
from datashark.alerting.command import DEFAULT_WRITEBACK_INDEX, AlertRun, run_alert
from datashark.config.settings import load_settings
from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, DataSharkError
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.failures import report_failure
from datashark.run.prepare import prepare
from datashark.run.production import EXIT_FAILED, EXIT_OK, LOCAL_MASTER, run_production
from datashark.run.spark import start_spark
from datashark.run.streaming import run_streaming
from datashark.testing.command import run_test_cases

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except ConfigError as err:
        console.error(str(err))
        return EXIT_CONFIG
    except DataSharkError as err:
        report_failure(err, verbose=args.verbose)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="datashark", description="Security event analytics on Spark.")
    parser.add_argument("--version", action="version", version=f"dataShark {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="print full tracebacks of failures")
    common.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="stop streaming gracefully after this long"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    standalone = commands.add_parser(
        "standalone", parents=[common], help="run one use case on local Spark, ignoring 'enabled'"
    )
    standalone.add_argument("conf", type=Path, metavar="CONF", help="the use case's .conf file")
    standalone.add_argument(
        "-d", "--debug", action="store_true", help="print results instead of writing them"
    )
    standalone.set_defaults(command=run_standalone)

    run = commands.add_parser("run", parents=[common], help="run every enabled use case in conf/")
    run.add_argument(
        "--master",
        default=os.environ.get("SPARK_INSTANCE") or LOCAL_MASTER,
        help="Spark master URL (default: $SPARK_INSTANCE, else local[*])",
    )
    run.add_argument("-l", "--local", action="store_true", help="run on local[*] whatever the master")
    run.set_defaults(command=run_start)

    validate = commands.add_parser("validate", parents=[common], help="check confs without starting Spark")
    validate.add_argument("confs", type=Path, nargs="*", metavar="CONF", help="default: every conf/*/*.conf")
    validate.set_defaults(command=run_validate)

    test = commands.add_parser(
        "test",
        parents=[common],
        help="run the test cases of use cases (conf/<uc>/tests/*.yml) on local Spark",
        description="Exit code 0: every case passed; 1: a case failed; 2: a case file or conf is wrong.",
    )
    test.add_argument(
        "targets",
        type=Path,
        nargs="*",
        metavar="CONF",
        help="a use case's conf, folder or case file (default: every conf/*/*.conf)",
    )
    test.set_defaults(command=run_test)

    alert = commands.add_parser(
        "alert",
        help="run ElastAlert2 on findings in Elasticsearch (rules in conf/<uc>/elastalert/)",
        description="Exit code 0: ElastAlert2 ran (and stopped) well; 1: it or a rule failed; "
        "2: a conf or rule is wrong. ElastAlert2 runs from its own environment, made at first use.",
    )
    alert.add_argument("-v", "--verbose", action="store_true", help="print full tracebacks of failures")
    alert.add_argument(
        "confs",
        type=Path,
        nargs="*",
        metavar="CONF",
        help="use cases whose findings to alert on (default: every conf/*/*.conf with output = "
        "elasticsearch and rules in its folder's elastalert/)",
    )
    alert.add_argument("--once", action="store_true", help="run every rule once, then stop")
    alert.add_argument("--start", type=_iso_time, metavar="TIME", help="query from this time (ISO 8601)")
    alert.add_argument("--end", type=_iso_time, metavar="TIME", help="query up to this time (ISO 8601)")
    alert.add_argument(
        "--writeback-index",
        default=DEFAULT_WRITEBACK_INDEX,
        metavar="NAME",
        help=f"ElastAlert2's state indices: NAME, NAME_status, ... (default: {DEFAULT_WRITEBACK_INDEX})",
    )
    alert.add_argument(
        "--venv", type=Path, metavar="DIR", help="ElastAlert2's environment (default .cache/elastalert2/venv)"
    )
    alert.add_argument(
        "--python", default="python3", help="the Python 3.11+ that makes that environment (default: python3)"
    )
    alert.set_defaults(command=run_alert_command)

    acquire = commands.add_parser(
        "acquire",
        help="receive syslog (UDP, TCP, TLS) with rsyslog and forward it to Kafka (or files)",
        description="Runs rsyslogd in the foreground with a configuration made of acquire.conf "
        "(docs/acquisition.md) until stopped (SIGTERM, Ctrl-C). Exit code 0: stopped as asked; "
        "1: rsyslogd stopped on its own; 2: acquire.conf is wrong or rsyslog lacks a module.",
    )
    acquire.add_argument("-v", "--verbose", action="store_true", help="print full tracebacks of failures")
    acquire.add_argument(
        "conf", type=Path, nargs="?", metavar="CONF", help="default: acquire.conf of the dataShark folder"
    )
    acquire.add_argument(
        "--check", action="store_true", help="write rsyslog's configuration and check it, without running it"
    )
    acquire.set_defaults(command=run_acquire)
    return parser


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _iso_time(text: str) -> str:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time (2026-01-31T12:00:00Z): {text}") from None
    return text


def run_standalone(args: argparse.Namespace) -> int:
    console.say(console.banner("STANDALONE MODE"))
    console.warn_if_root()
    if args.debug:
        console.to_stderr("[*] Debug Mode is ON")
    settings = load_settings()
    prepared = prepare(settings, read_usecase(args.conf))
    console.say(f"Loaded Confs: {[str(args.conf)]}")
    sc = start_spark(
        settings, LOCAL_MASTER, "dataShark Standalone", pools=[prepared.usecase.name], verbose=args.verbose
    )
    try:
        if prepared.usecase.type == "batch":
            run_batch(sc, RunContext(settings), prepared, debug=args.debug)
        else:
            run_streaming(sc, RunContext(settings), [prepared], debug=args.debug, timeout=args.timeout)
    finally:
        sc.stop()
    return EXIT_OK


def run_start(args: argparse.Namespace) -> int:
    console.warn_if_root()
    master = LOCAL_MASTER if args.local else args.master
    return run_production(master, timeout=args.timeout, verbose=args.verbose)


def run_test(args: argparse.Namespace) -> int:
    return run_test_cases(load_settings(), args.targets, timeout=args.timeout, verbose=args.verbose)


def run_alert_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    run = AlertRun(
        confs=tuple(args.confs),
        once=args.once,
        start=args.start,
        end=args.end,
        writeback_index=args.writeback_index,
        venv=args.venv,
        python=args.python,
    )
    return run_alert(settings.home, run)


def run_acquire(args: argparse.Namespace) -> int:
    from datashark.acquisition import daemon
    from datashark.acquisition.settings import load_acquire_settings

    settings = load_settings()
    acquisition = load_acquire_settings(args.conf or settings.home / "acquire.conf", settings)
    console.say(console.banner("ACQUISITION MODE"))
    console.say(f"Listening: {', '.join(map(str, acquisition.listeners))}")
    if acquisition.kafka is not None:
        kafka = acquisition.kafka
        console.say(f"Forwarding to Kafka topic {kafka.topic} at {', '.join(kafka.brokers)}")
    elif acquisition.files is not None:
        files = acquisition.files
        console.say(f"Writing files into {files.folder}, a new one every {files.rotate_seconds} s")
    if args.check:
        console.say(f"OK   {daemon.check(acquisition)}")
        return EXIT_OK
    return daemon.run(acquisition)


def run_validate(args: argparse.Namespace) -> int:
    settings = load_settings()
    console.say(f"OK   {settings.home / 'datashark.conf'}")
    paths = args.confs or sorted((settings.home / "conf").glob("*/*.conf"))
    bad = 0
    for path in paths:
        try:
            usecase = read_usecase(path)
            prepare(settings, usecase)
        except DataSharkError as err:
            bad += 1
            console.error(str(err))
            continue
        state = "enabled" if usecase.enabled else "disabled"
        console.say(f"OK   {path} ({usecase.name}, {usecase.type}, {state})")
    return EXIT_CONFIG if bad else EXIT_OK
