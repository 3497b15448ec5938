"""Running test cases: every case of every use case asked for, on one local SparkContext.

Everything that can be wrong with a case file or a changed conf is found before Spark starts
(``plan``). Each case then runs through the engine's own paths: in batch mode through
``run_batch`` with the case's events as its ``file`` (a streaming use case's conf switched to
``type = batch``, its ``load()`` getting ``trainingData`` as in streaming); in streaming mode
through ``run_streaming`` with the events fed over several batches by ``feed.CaseInput`` (a
batch use case's conf switched to ``type = streaming``, without its ``file``). A streaming use
case's cases run in both modes, a batch one's in batch mode, unless a case names its
``modes``. The output is a ``Collector``.

The test input and output reach ``prepare()`` the way any plugin does: as plugins of a home,
here a scratch folder whose ``plugins/`` holds two one-line modules naming them, so the use case
is prepared exactly as a real run prepares it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datashark.config.settings import Settings
from datashark.config.spec import read_conf, validate_section
from datashark.config.usecase import UseCase, read_usecase, usecase_spec
from datashark.errors import ConfigError, DataSharkError, UseCaseError
from datashark.events.whole_files import EventFailure, Record, needs_whole_files, records_of_file
from datashark.files.paths import is_local, local_path
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import Prepared, prepare
from datashark.run.streaming import run_streaming
from datashark.testing import feed as feeds
from datashark.testing.cases import (
    CASE_SUFFIXES,
    Case,
    apply_overrides,
    cases_folder,
    read_case_file,
    read_cases,
)
from datashark.testing.collector import Collector
from datashark.testing.findings import Comparison, compare

OUTPUT_NAME = "test_findings"
INPUT_NAME = "test_events"
PLUGIN_SHIMS = {
    f"output/out_{OUTPUT_NAME}.py": "from datashark.testing.collector import Collector as Plugin\n",
    f"input/in_{INPUT_NAME}.py": "from datashark.testing.feed import CaseInput as Plugin\n",
}
TEST_BATCH_INTERVAL = 1  # seconds: streaming cases take a few batches each
DEFAULT_STREAM_TIMEOUT = 120.0  # seconds a streaming case may stream before it fails
CASE_DONE = "the case's last batch was delivered"
# What a load() calls on its data that an RDD lacks: in batch mode, the case needs `modes: [streaming]`.
DSTREAM_ONLY = re.compile(
    r"object has no attribute '(window|\w+ByWindow|\w+AndWindow|updateStateByKey|foreachRDD|transform\w*|"
    r"slice|pprint|saveAsTextFiles)'"
)


@dataclass
class CaseRun:
    """One case of one use case in one mode (``batch`` or ``streaming``), prepared to run."""

    usecase: str  # the use case's folder name, as the report names it
    case: Case
    mode: str
    usecase_type: str = "batch"  # the conf's type, whatever the mode
    prepared: Prepared | None = None
    feed: feeds.Feed | None = None
    problem: str | None = None  # the use case's code could not be prepared

    @property
    def title(self) -> str:
        return f"{self.usecase}/{self.case.name} ({self.mode})"

    @property
    def collector(self) -> Collector:
        assert self.prepared is not None and isinstance(self.prepared.plugin, Collector)
        return self.prepared.plugin


@dataclass
class Plan:
    """What ``datashark test`` will run, the errors that stop it before Spark starts, and
    notes on use cases without cases."""

    runs: list[CaseRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """How a case run went: its comparison, or the error that stopped it."""

    run: CaseRun
    comparison: Comparison | None = None
    error: str | None = None
    dead_letters: list[tuple[str, str]] = field(default_factory=list)  # (stage, reason)
    console: str = ""  # what the run printed

    @property
    def passed(self) -> bool:
        return self.error is None and self.comparison is not None and self.comparison.passed


def plan(settings: Settings, targets: list[Path], workdir: Path) -> Plan:
    """Read the use cases and their cases, and prepare every case run, before Spark starts.

    A target is a use case's conf, its folder, or one of its case files."""
    found = Plan()
    home = _plugin_home(workdir)
    for conf_path, only in _targets(targets, found):
        try:
            usecase = read_usecase(conf_path, check_data=False)
            cases = read_case_file(only) if only else read_cases(usecase.path)
        except ConfigError as err:
            found.errors.append(str(err))
            continue
        if not cases:
            found.notes.append(f"no test cases for {conf_path} (add {cases_folder(usecase.path)}/*.yml)")
            continue
        for case in cases:
            for mode in case.modes_of(usecase.type):
                run = CaseRun(usecase.folder.name, case, mode, usecase.type)
                try:
                    _prepare(run, settings, home, usecase, workdir / f"events-{len(found.runs)}.log")
                except ConfigError as err:
                    found.errors.append(f"{case.file}: case '{case.name}': key 'conf': {err}")
                    release([run])
                    break
                except UseCaseError as err:
                    run.problem = str(err)
                found.runs.append(run)
    return found


def _targets(targets: list[Path], found: Plan) -> Iterator[tuple[Path, Path | None]]:
    """``(conf, case file or None for all of the folder's)`` for each target."""
    for target in targets:
        if target.suffix in CASE_SUFFIXES:
            if not target.is_file():
                found.errors.append(f"{target}: file not found")
                continue
            only = target.resolve()
            owners = [conf for conf in _confs_near(only) if cases_folder(conf) == only.parent]
            if len(owners) == 1:
                yield owners[0], only
            else:
                found.errors.append(
                    f"{target}: belongs to no use case (tests/ beside one .conf, or tests/<conf name>/)"
                )
        elif target.is_dir():
            confs = sorted(target.glob("*.conf"))
            if not confs:
                found.errors.append(f"{target}: holds no .conf file")
            for conf in confs:
                yield conf, None
        else:
            yield target, None


def _confs_near(case_file: Path) -> list[Path]:
    """The confs a case file may belong to: in the folder above its ``tests/`` (or two above)."""
    return sorted({*case_file.parent.parent.glob("*.conf"), *case_file.parent.parent.parent.glob("*.conf")})


def _plugin_home(workdir: Path) -> Path:
    """A home whose only plugins are the test's input and output (see the module's docstring)."""
    home = workdir / "home"
    for name, text in PLUGIN_SHIMS.items():
        path = home / "plugins" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return home


def _prepare(run: CaseRun, settings: Settings, home: Path, usecase: UseCase, events_path: Path) -> None:
    case = run.case
    raw = read_conf(usecase.path)
    apply_overrides(raw, case.conf)
    raw["output"] = OUTPUT_NAME
    if run.mode == "batch":
        events_path.write_text("".join(f"{line}\n" for line in case.events), encoding="utf-8")
        raw["type"] = "batch"
        raw["file"] = str(events_path)
        raw.pop("input", None)  # the case's events replace whatever the use case reads
    else:
        run.feed = feeds.register(feeds.split(_stream_records(case, usecase), case.batches))
        raw["type"] = "streaming"
        raw.pop("file", None)
        raw["input"] = INPUT_NAME
        raw[f"in_{INPUT_NAME}"] = {"feed": run.feed.id}
    conf = validate_section(raw, usecase_spec(raw.get("api")), where=usecase.location, allow_extra=True)
    changed = UseCase(usecase.path, conf)
    training = changed.conf["training"]
    location = changed.resolve(training) if training else None
    if location is not None and is_local(location) and not glob.glob(local_path(location)):
        raise usecase.location.at("training").error(f"no such file or directory: {local_path(location)}")
    run.prepared = prepare(dataclasses.replace(settings, home=home), changed)
    if run.feed is not None and run.prepared.parser.time is not None:
        run.feed.time_fields = run.prepared.parser.time.fields


def _stream_records(case: Case, usecase: UseCase) -> list[Record | EventFailure]:
    """What the test input hands the event stage: the case's lines, or, for a format read from
    whole files (Zeek TSV logs, a JSON array), the records of the case's events as one file."""
    fmt = usecase.conf["format"]
    if usecase.reads_frames:  # lines, which Spark's reader parses
        return list(case.events)
    if not needs_whole_files(fmt) and fmt != "json":
        return list(case.events)
    text = "".join(f"{line}\n" for line in case.events)
    return list(records_of_file(text, fmt, name=case.file.name))


def run_cases(
    sc, settings: Settings, runs: list[CaseRun], workdir: Path, *, timeout: float | None
) -> Iterator[Outcome]:
    """Run each case; yields its outcome as soon as it is known."""
    for number, run in enumerate(runs):
        if run.problem is not None:
            yield Outcome(run, error=run.problem)
            continue
        # Its own checkpoint folder: windows restore their state from there (detect/window_state.py).
        case_settings = dataclasses.replace(
            settings,
            batch_interval=TEST_BATCH_INTERVAL,
            checkpoint_dir=str(workdir / "checkpoint" / str(number)),
            deadletter_dir=workdir / "deadletter" / str(number),
        )
        outcome = Outcome(run)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            try:
                if run.mode == "batch":
                    assert run.prepared is not None
                    run_batch(sc, RunContext(case_settings), run.prepared, debug=False)
                else:
                    _stream(sc, case_settings, run, timeout or DEFAULT_STREAM_TIMEOUT)
            except DataSharkError as err:
                outcome.error = str(err) + _mode_hint(run, str(err))
        outcome.console = printed.getvalue()
        outcome.dead_letters = _dead_letters(case_settings.deadletter_dir)
        if outcome.error is None:
            outcome.comparison = compare(run.case, run.collector.rows)
        yield outcome


def _stream(sc, settings: Settings, run: CaseRun, timeout: float) -> None:
    """Stream the case's batches until the batch after the flush has been delivered, then stop
    the stream as a signal would; a time limit (``--timeout``) keeps a stuck case from hanging."""
    assert run.prepared is not None and run.feed is not None
    case_feed = run.feed
    done = case_feed.done
    started = time.monotonic()
    run_streaming(
        sc,
        RunContext(settings),
        [run.prepared],
        debug=False,
        timeout=timeout,
        stop_when=lambda: CASE_DONE if _case_done(sc, case_feed) else None,
        at_once=True,  # batches queued behind the case's last one hold no events
    )
    if not done.is_set():
        raise UseCaseError(
            f"stopped after {time.monotonic() - started:.0f} s (--timeout {timeout:g}) before the batch "
            "after the last events was delivered"
        )


def _case_done(sc, case_feed: feeds.Feed) -> bool:
    """Whether the case's last batch was delivered (a DataFrame use case: see ``FrameFeed``)."""
    if case_feed.frames is None:
        return case_feed.done.is_set()
    from datashark.frames.events import active_queries

    if case_feed.frames.done(active_queries(sc)):
        case_feed.done.set()
    return case_feed.done.is_set()


def _mode_hint(run: CaseRun, error: str) -> str:
    """For a streaming use case failing in batch mode on a DStream-only operation: what to do."""
    if run.mode != "batch" or run.usecase_type != "streaming" or not DSTREAM_ONLY.search(error):
        return ""
    return f" (a DStream-only operation: give the case 'modes: [streaming]' in {run.case.file.name})"


def _dead_letters(folder: Path) -> list[tuple[str, str]]:
    """``(stage, reason)`` of the dead letters a case run stored, training's left out."""
    found = []
    for path in sorted(folder.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("stage") != "training":
                found.append((str(record.get("stage")), str(record.get("reason"))))
    return found


def dead_letter_summary(letters: list[tuple[str, str]]) -> str:
    """``3 (input: does not match the use case's pattern x2; output: ...)``."""
    counts = Counter(letters)
    shown = counts.most_common(3)
    parts = [f"{stage}: {reason}" + (f" x{n}" if n > 1 else "") for (stage, reason), n in shown]
    more = "; ..." if len(counts) > 3 else ""
    return f"{len(letters)} ({'; '.join(parts)}{more})"


def release(runs: list[CaseRun]) -> None:
    """Forget the feeds of runs that never streamed."""
    for run in runs:
        if run.feed is not None:
            feeds.unregister(run.feed.id)
