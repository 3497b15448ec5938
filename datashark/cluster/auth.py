"""Who may talk to this run's Spark: authentication and encryption of cluster traffic, the UI.

Tasks carry credentials (an output's password, a Kafka login), so on a cluster the driver, the
executors and the standalone daemons authenticate each other and encrypt what they send
(``spark.authenticate``, ``spark.network.crypto.enabled``). YARN and Kubernetes make a secret per
application; a standalone cluster shares the one its daemons were started with, which
datashark-env.sh names with ``SPARK_AUTH_SECRET_FILE`` (a 0600 file of this user's).

The secret never goes on a command line (``ps`` shows those to every user): Spark accepts it
from a file only on Kubernetes, so the driver gets it in a 0600 properties file that
spark-submit reads (``--properties-file``), written in the run's private folder.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from datashark.config.secrets import remember
from datashark.errors import ConfigError

SECRET_FILE_VARIABLE = "SPARK_AUTH_SECRET_FILE"
UI_VARIABLE = "DATASHARK_SPARK_UI"
SUBMIT_ARGS_VARIABLE = "PYSPARK_SUBMIT_ARGS"  # what PySpark appends to its spark-submit command
SECRET_PROPERTY = "spark.authenticate.secret"
AUTHENTICATED = {"spark.authenticate": "true", "spark.network.crypto.enabled": "true"}
UNAUTHENTICATED_WARNING = (
    f"[!] cluster traffic is unauthenticated and unencrypted: set {SECRET_FILE_VARIABLE} in datashark-env.sh"
)
PROPERTIES_NAME = "cluster-secret.properties"


@dataclass(frozen=True)
class ClusterSecurity:
    """What a run on ``master`` adds to its SparkConf, and the standalone secret to hand the driver."""

    config: dict[str, str]
    secret: str | None = field(default=None, repr=False)
    warning: str | None = None


def is_local(master: str) -> bool:
    return master.startswith("local")


def is_standalone(master: str) -> bool:
    return master.startswith("spark://")


def cluster_security(master: str, env: Mapping[str, str]) -> ClusterSecurity:
    """The settings for ``master`` from datashark-env.sh's variables in ``env``.

    Local mode: nothing (no traffic leaves this machine). A standalone master: authentication and
    encryption with the secret of ``SPARK_AUTH_SECRET_FILE``, or a warning when it is not set.
    YARN and Kubernetes: authentication and encryption, with the secret Spark makes per application.
    On any cluster the driver's UI, which has no login, is off unless ``DATASHARK_SPARK_UI=true``.
    """
    if is_local(master):
        return ClusterSecurity(config={})
    config = {} if ui_enabled(env) else {"spark.ui.enabled": "false"}
    if not is_standalone(master):
        return ClusterSecurity(config={**AUTHENTICATED, **config})
    secret_file = env.get(SECRET_FILE_VARIABLE)
    if not secret_file:
        return ClusterSecurity(config=config, warning=UNAUTHENTICATED_WARNING)
    return ClusterSecurity(config={**AUTHENTICATED, **config}, secret=read_secret(Path(secret_file)))


def ui_enabled(env: Mapping[str, str]) -> bool:
    """``DATASHARK_SPARK_UI``: ``true`` keeps the driver's UI on in cluster mode."""
    value = env.get(UI_VARIABLE, "").strip().lower()
    if value not in ("", "true", "false"):
        raise ConfigError(f"{UI_VARIABLE}={env[UI_VARIABLE]!r}: must be true or false")
    return value == "true"


def read_secret(path: Path) -> str:
    """The secret in ``path``: a regular file of this user's that no one else may read or write."""
    where = f"{SECRET_FILE_VARIABLE}={path}"
    try:
        status = path.stat()
    except OSError as err:
        raise ConfigError(f"{where}: cannot read it ({err.strerror})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ConfigError(f"{where}: not a regular file")
    if status.st_uid != os.geteuid():
        raise ConfigError(f"{where}: owned by uid {status.st_uid}, not by the user running dataShark")
    if status.st_mode & 0o077:
        raise ConfigError(f"{where}: mode {stat.S_IMODE(status.st_mode):04o} lets others at it; chmod 600 it")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: cannot read it ({err.__class__.__name__})") from None
    if not secret or "\n" in secret or "\r" in secret:
        raise ConfigError(f"{where}: must hold the secret on one line")
    remember(secret)
    return secret


def secret_properties(secret: str) -> str:
    """A Java properties file setting ``spark.authenticate.secret`` (Spark trims the value)."""
    return f"{SECRET_PROPERTY}={secret.replace(chr(92), chr(92) * 2)}\n"


@contextmanager
def secret_for_driver(security: ClusterSecurity, folder: Path) -> Iterator[None]:
    """While inside, a SparkContext started in this process reads the standalone secret from a
    0600 properties file in ``folder`` (private to this user), which is removed on the way out.

    spark-submit then skips ``spark-defaults.conf`` unless told (``--load-spark-defaults``).
    """
    if security.secret is None:
        yield
        return
    properties = folder / PROPERTIES_NAME
    descriptor = os.open(properties, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(secret_properties(security.secret))
    previous = os.environ.get(SUBMIT_ARGS_VARIABLE)
    own = f"--properties-file {shlex.quote(str(properties))} --load-spark-defaults"
    os.environ[SUBMIT_ARGS_VARIABLE] = f"{own} {previous or 'pyspark-shell'}"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SUBMIT_ARGS_VARIABLE, None)
        else:
            os.environ[SUBMIT_ARGS_VARIABLE] = previous
        properties.unlink(missing_ok=True)
