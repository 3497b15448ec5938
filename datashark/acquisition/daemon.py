"""``datashark acquire``: rsyslogd in the foreground under the configuration of acquire.conf.

The configuration is written ``0600`` in a ``0700`` work folder (it holds the Kafka password),
checked with ``rsyslogd -N1``, and rsyslogd runs as a child that gets the signals this process
gets: SIGTERM or Ctrl-C stop it (it saves its queues), SIGHUP makes it reopen its files. For
``output = files`` this process also rotates the files (rotation.py); for Kafka, it sends
again what Kafka did not take in time (undelivered.py). Anything rsyslogd prints is passed on
with the configuration's secrets masked.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from datashark import console
from datashark.acquisition import librdkafka
from datashark.acquisition.background import Every
from datashark.acquisition.rotation import Rotation, holds_open
from datashark.acquisition.rsyslog_config import UNDELIVERED_FILE, render
from datashark.acquisition.settings import AcquireSettings
from datashark.acquisition.topic import TopicStamp
from datashark.acquisition.undelivered import CLOSE_WAIT_SECONDS, Undelivered, take
from datashark.errors import ConfigError, DataSharkError
from datashark.files.private import private_folder, write_private

INSTALL_HINT = "on Debian or Ubuntu: ./install.sh --acquire; elsewhere install rsyslog 8 with {}"
# rsyslog modules the configuration may load, and the Debian package each comes in.
MODULE_PACKAGES = {
    "omkafka": "rsyslog-kafka",
    "imrelp": "rsyslog-relp",
    "lmnsd_gtls": "rsyslog-gnutls",
    "lmnsd_ossl": "rsyslog-openssl",
}
MASK = "********"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PR_SET_PDEATHSIG = 1
LOOP_SECONDS = 0.2
TOPIC_WAIT_SECONDS = 5.0  # how long the start waits for Kafka to make the topic stamp


class AcquisitionError(DataSharkError):
    """rsyslogd could not be started, or stopped on its own."""


def rsyslogd() -> str:
    """The rsyslogd binary (in /usr/sbin, which a user's PATH may leave out)."""
    found = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
    if found is None:
        raise ConfigError("rsyslogd not found: " + INSTALL_HINT.format("its Kafka output (omkafka)"))
    return found


def module_folders() -> list[Path]:
    """Where rsyslog's loadable modules are (Debian puts them under the architecture's folder)."""
    return [*Path("/usr/lib").glob("*/rsyslog"), Path("/usr/lib/rsyslog"), Path("/usr/lib64/rsyslog")]


def missing_modules(settings: AcquireSettings) -> list[str]:
    """The modules the configuration loads that are not installed."""
    needed = []
    if settings.kafka is not None:
        needed.append("omkafka")
    if settings.tls is not None:
        needed.append(f"lmnsd_{settings.tls.driver}")
    if any(listener.protocol == "relp" for listener in settings.listeners):
        needed.append("imrelp")
    folders = module_folders()
    return [name for name in needed if not any((folder / f"{name}.so").exists() for folder in folders)]


def write_config(settings: AcquireSettings) -> Path:
    """The configuration written where rsyslogd reads it; folders created private. What an
    earlier rsyslogd could not deliver to Kafka is taken aside to be sent (undelivered.py)."""
    private_folder(settings.work_dir)
    take(settings.work_dir, pid=None)
    if settings.files is not None:
        private_folder(settings.files.folder)
    write_private(settings.config_path, render(settings))
    return settings.config_path


def check(settings: AcquireSettings) -> Path:
    """Write the configuration and have rsyslogd check it; ConfigError saying what is wrong."""
    binary = rsyslogd()
    missing = missing_modules(settings)
    if missing:
        packages = ", ".join(MODULE_PACKAGES[name] for name in missing)
        raise ConfigError(
            f"{settings.path}: rsyslog lacks {', '.join(missing)}: " + INSTALL_HINT.format(f"({packages})")
        )
    path = write_config(settings)
    result = subprocess.run(
        [binary, "-N1", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    output = masked(result.stdout + result.stderr, settings.secrets)
    problems = [line for line in output.splitlines() if "error" in line.lower() or "invalid" in line.lower()]
    if result.returncode != 0 or problems:
        detail = "; ".join(problems or output.strip().splitlines()[-1:]) or f"exit code {result.returncode}"
        raise ConfigError(
            f"{settings.path}: rsyslogd refuses the configuration made of it ({path}): {detail}"
        )
    return path


def masked(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by asterisks."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def run(settings: AcquireSettings) -> int:
    """Run rsyslogd until it is told to stop; its exit code (0: stopped as asked)."""
    path = check(settings)
    rotation = Rotation(settings.files.folder) if settings.files is not None else None
    if rotation is not None:
        rotation.prepare()
    beside: list[Every] = []  # work done in threads beside rsyslogd, poked from the loop
    if settings.kafka is not None:
        stamp = TopicStamp(settings.kafka).every
        # Before rsyslogd listens, so its first message cannot have Kafka create the topic
        # with the brokers' default stamp; Kafka slow or down: it goes on in the background.
        stamp.poke()
        stamp.wait(TOPIC_WAIT_SECONDS)
        beside = [stamp]
    child = subprocess.Popen(
        [rsyslogd(), "-n", "-f", str(path), "-i", str(settings.pid_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        umask=0o077,  # rsyslogd's spool and files: this user's only
        # Its own process group: Ctrl-C or a signal to this one's group reaches rsyslogd only as
        # this process passes it on (SIGHUP first, see _stop); and it dies with this process.
        start_new_session=True,
        preexec_fn=_die_with_parent,
        env=_environment(settings),
    )
    relay = threading.Thread(target=_relay, args=(child, settings.secrets), daemon=True)
    relay.start()
    if settings.kafka is not None:
        beside.append(Undelivered(settings.work_dir, settings.kafka, child.pid).every)
    stopping = threading.Event()
    previous = {number: signal.getsignal(number) for number in (*STOP_SIGNALS, signal.SIGHUP)}

    def forward(number: int, frame: FrameType | None) -> None:
        if number in STOP_SIGNALS:
            stopping.set()
        elif child.poll() is None:
            child.send_signal(number)

    for number in previous:
        signal.signal(number, forward)
    try:
        next_rotation = time.monotonic() + (settings.files.rotate_seconds if settings.files else 0)
        while child.poll() is None:
            if stopping.is_set():
                _stop(child, settings)
                break
            if rotation is not None and settings.files is not None and time.monotonic() >= next_rotation:
                rotation.rotate(child.pid)
                next_rotation += settings.files.rotate_seconds
            for work in beside:
                work.poke()
            stopping.wait(LOOP_SECONDS)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:
            child.terminate()
        child.wait()
        relay.join(timeout=5)
        if rotation is not None:
            rotation.publish_closed(pid=None)
            rotation.prepare()
    if not stopping.is_set() or child.returncode != 0:
        raise AcquisitionError(
            f"rsyslogd stopped on its own (exit code {child.returncode}): see its messages above"
        )
    console.info("rsyslogd stopped: its queues are saved in " + str(settings.work_dir))
    return 0


def _environment(settings: AcquireSettings) -> dict[str, str]:
    """This process's environment, with the librdkafka omkafka needs first on the library path."""
    environment = dict(os.environ)
    if settings.kafka is None:
        return environment
    choice = librdkafka.choose(settings.kafka, settings.work_dir)
    if choice.folder is None:
        if choice.notice:
            console.to_stderr(f"[!] {settings.path}: {choice.notice}")
        return environment
    console.info(choice.notice)
    before = environment.get("LD_LIBRARY_PATH")
    environment["LD_LIBRARY_PATH"] = f"{choice.folder}:{before}" if before else str(choice.folder)
    return environment


def _die_with_parent() -> None:
    """In the child, before rsyslogd starts: SIGTERM when ``datashark acquire`` dies, even by
    SIGKILL (Linux's PR_SET_PDEATHSIG), so rsyslogd never outlives it holding the ports."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(child: subprocess.Popen[str], settings: AcquireSettings) -> None:
    """SIGHUP, then SIGTERM once omkafka closed its error file. rsyslog 8.2302 closes that file
    before the last flush to Kafka at shutdown, and the messages that flush fails to deliver
    are then written to a closed file and lost (measured: 4 at a restart under load); after a
    SIGHUP, omkafka opens the file anew for them."""
    child.send_signal(signal.SIGHUP)
    error_file = settings.work_dir / UNDELIVERED_FILE
    deadline = time.monotonic() + CLOSE_WAIT_SECONDS
    while holds_open(child.pid, error_file) and time.monotonic() < deadline:
        time.sleep(0.02)
    child.terminate()


def _relay(child: subprocess.Popen[str], secrets: tuple[str, ...]) -> None:
    """rsyslogd's output, secrets masked, onto this process's standard error."""
    assert child.stdout is not None
    for line in child.stdout:
        sys.stderr.write(masked(line, secrets))
        sys.stderr.flush()
