"""No secret at rest: what a streaming run writes or prints holds none of the passwords its confs give.

Spark pickles the functions of the DStream graph into the checkpoint at every batch (compressed,
so the test reads them where PySpark pickles them); a use case's outputs, dead letters, console
and checkpoint folder are read as files. The run logs in to the secured Kafka broker and the
secured Elasticsearch node, and its use case closes over its conf, which holds a token of its own.
"""

from __future__ import annotations

import shutil
import stat
import textwrap
import uuid
from pathlib import Path

import pytest
from pyspark.streaming.util import TransformFunctionSerializer

from tests.conftest import REPO
from tests.integration.conftest import run_script
from tests.support.kafka_helpers import json_events, new_topic, produce, reading_from_start, run_until
from tests.support.servers.elasticsearch import ElasticsearchNode
from tests.support.servers.kafka import KafkaBroker

pytestmark = pytest.mark.spark

CLOSES_OVER_CONF = """
def load(streamingData, trainingData, context, conf):
    return streamingData.map(lambda event: (event["id"], 1.0, {"tagged": bool(conf["api_token"])}))
"""


def test_a_secured_stream_leaves_no_password_in_checkpoints_outputs_dead_letters_or_console(
    spark_context,
    kafka: KafkaBroker,
    elasticsearch: ElasticsearchNode,
    tmp_path: Path,
    capsys,
    monkeypatch,
) -> None:
    token = f"token-{uuid.uuid4().hex}"
    pickled: list[bytes] = []
    dumps = TransformFunctionSerializer.dumps

    def recording(self, transform_id):
        data = dumps(self, transform_id)
        pickled.append(bytes(data))
        return data

    monkeypatch.setattr(TransformFunctionSerializer, "dumps", recording)
    topic = new_topic(kafka.bootstrap_servers, prefix="secret")
    produce(kafka.bootstrap_servers, topic, [*json_events(50), "not json"])
    settings = reading_from_start(tmp_path, kafka.secure_bootstrap_servers, topic, **kafka.security_keys())
    folder = tmp_path / "uc"
    folder.mkdir()
    (folder / "uc.py").write_text(textwrap.dedent(CLOSES_OVER_CONF))
    (folder / "training.txt").write_text("unused\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Secrets\ntype = streaming\ncode = uc.py\ntraining = training.txt\nformat = json\n"
        f"output = elasticsearch\napi_token = {token}\n[out_elasticsearch]\n"
        f"{elasticsearch.output_keys()}index_name = secrets-{uuid.uuid4().hex[:8]}\n"
    )
    conf.chmod(0o600)
    checkpoints = tmp_path / "ckpt"
    kept = tmp_path / "checkpoint-while-running"
    modes: list[int] = []

    def after_a_few_batches() -> bool:
        runs = [path for path in checkpoints.glob("*") if path.is_dir()]
        # Spark pickles every transform of the graph at each checkpoint: count batches by what
        # they delivered (the bad event's dead letter), not by pickles alone.
        delivered = any((tmp_path / "deadletter").rglob("*.jsonl"))
        if len(pickled) < 3 or not runs or not delivered:
            return False
        modes.extend(stat.S_IMODE(run.stat().st_mode) for run in runs)
        shutil.copytree(checkpoints, kept, dirs_exist_ok=True)
        return True

    run_until(spark_context, settings, [conf], after_a_few_batches)

    assert modes and set(modes) == {0o700}
    assert not any(checkpoints.glob("*")), "the run's checkpoint is removed at stop"
    assert list(kept.rglob("*")), "the checkpoint was copied while the run went on"
    assert list((tmp_path / "deadletter").rglob("*.jsonl")), "the bad event was dead-lettered"
    passwords = [elasticsearch.password, kafka.password, token]
    for data in pickled:
        for password in passwords:
            assert password.encode() not in data, "a function Spark checkpoints holds a password"
    left = [path for path in tmp_path.rglob("*") if path.is_file() and path.suffix != ".conf"]
    for path in left:
        content = path.read_bytes()
        for password in passwords:
            assert password.encode() not in content, f"{path} holds a password"
    printed = capsys.readouterr()
    for password in passwords:
        assert password not in printed.out + printed.err


ONE_ROW_PER_LINE = """
def load(batchData):
    return batchData.map(lambda line: (line, 1.0))
"""
RAISES_WITH_ITS_CONF = """
def load(batchData, context, conf):
    raise RuntimeError(f"cannot work with {dict(conf)}")
"""


def test_a_failing_verbose_run_prints_and_logs_no_password(
    elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    """``./start.sh -l -v`` as a user runs it: one use case's login is refused, another's load()
    raises with its whole conf in the message. The tracebacks, the console and Spark's event log
    hold none of the passwords."""
    wrong_password, token = f"pw-{uuid.uuid4().hex}", f"token-{uuid.uuid4().hex}"
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    events = tmp_path / "spark-events"
    events.mkdir()
    (home / "datashark.conf").write_text(
        f"[spark_config]\nspark.eventLog.enabled = true\nspark.eventLog.dir = {events.as_uri()}\n"
    )
    uses = {
        "refused": (ONE_ROW_PER_LINE, elasticsearch.output_keys(password=wrong_password)),
        "raises": (RAISES_WITH_ITS_CONF, elasticsearch.output_keys()),
    }
    for name, (code, output_keys) in uses.items():
        folder = home / "conf" / name
        folder.mkdir(parents=True)
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
        (folder / "data.txt").write_text("e1\n")
        conf = folder / f"{name}.conf"
        conf.write_text(
            f"name = {name}\ntype = batch\nenabled = true\ncode = {name}.py\nfile = data.txt\n"
            f"output = elasticsearch\napi_token = {token}\n[out_elasticsearch]\n{output_keys}"
            f"index_name = secrets-{uuid.uuid4().hex[:8]}\n"
        )
        conf.chmod(0o600)
    result = run_script("start.sh", "-l", "-v", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})

    printed = result.stdout + result.stderr
    assert result.returncode != 0, printed
    assert "authentication failed (HTTP 401)" in printed, printed[-3000:]
    assert "Traceback" in printed, "-v prints tracebacks"
    assert list(events.iterdir()), "Spark wrote its event log"
    for secret in (wrong_password, token):
        assert secret not in printed
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.suffix != ".conf":
                assert secret.encode() not in path.read_bytes(), f"{path} holds a password"
