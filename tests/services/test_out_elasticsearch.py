"""out_elasticsearch against the real Elasticsearch 9 node, driven through dataShark's engine.

The node is secured (HTTPS, users): every use case here verifies its certificate against the
session's CA and logs in, as in production; the last tests are about what happens when not.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from elastic_transport import SecurityWarning
from elasticsearch import Elasticsearch

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, UseCaseError
from datashark.events.deadletter import DeadLetters
from datashark.loading.plugin_loader import load_output_plugin
from datashark.run.context import RunContext
from datashark.run.delivery import deliver
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.conftest import REPO
from tests.integration.conftest import settings_for
from tests.support.kafka_helpers import (
    ONE_ROW_PER_EVENT,
    committed,
    end_offsets,
    group_of,
    ids_in,
    json_events,
    new_topic,
    produce,
    reading_from_start,
    run_until,
    usecase,
)
from tests.support.runs import run_conf
from tests.support.server import free_port
from tests.support.servers.elasticsearch import ElasticsearchNode
from tests.support.servers.kafka import KafkaBroker

pytestmark = pytest.mark.spark

HOSTS_BY_LINE = """
def load(batchData):
    return batchData.map(lambda line: line.split()).map(
        lambda parts: (parts[0], float(parts[1]), {"port": int(parts[2]), "proto": parts[3]})
    )
"""
BATCH_LINES = ["10.0.0.1 0.5 22 tcp", "10.0.0.2 7 80 tcp", "10.0.0.3 12.25 53 udp"]


@pytest.fixture
def client(elasticsearch: ElasticsearchNode) -> Iterator[Elasticsearch]:
    with elasticsearch.client() as es:
        yield es


def unique_index() -> str:
    """Each test writes its own indices, so the session's one node needs no cleaning."""
    return f"ds-{uuid.uuid4().hex[:8]}"


def es_section(node: ElasticsearchNode, index_name: str, extra: str = "", **changes: str | None) -> str:
    """The section reaching ``node`` over verified HTTPS as its superuser; ``changes`` replace or
    (None) drop those keys."""
    keys = node.output_keys(**changes)
    return f"[out_elasticsearch]\n{keys}index_name = {index_name}\n{extra}"


def batch_usecase(folder: Path, section: str, lines: list[str] = BATCH_LINES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(HOSTS_BY_LINE))
    (folder / "data.txt").write_text("".join(line + "\n" for line in lines))
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = Port Scan\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = elasticsearch\n{section}"
    )
    return conf


def sources(client: Elasticsearch, index: str) -> list[dict]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, size=1000, sort=["_doc"])["hits"]["hits"]
    return sorted((hit["_source"] for hit in hits), key=lambda doc: doc["source_ip"])


def field_types(client: Elasticsearch, index: str) -> dict[str, str]:
    properties = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    return {name: spec.get("type", "object") for name, spec in properties.items()}


def test_batch_run_indexes_every_row_with_mapped_fields(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path, capsys
) -> None:
    prefix = unique_index()
    conf = batch_usecase(
        tmp_path / "uc", es_section(elasticsearch, f"{prefix}-%Y.%m.%d", "doc_type = events\n")
    )
    settings = settings_for(tmp_path)
    before = datetime.now(timezone.utc)
    run_conf(spark_context, settings, conf)

    index = f"{prefix}-{before:%Y.%m.%d}"
    docs = sources(client, index)
    stamps = {doc.pop("@timestamp") for doc in docs}
    assert docs == [
        {"title": "Port Scan", "source_ip": "10.0.0.1", "anomaly_score": 0.5, "port": 22, "proto": "tcp"},
        {"title": "Port Scan", "source_ip": "10.0.0.2", "anomaly_score": 7.0, "port": 80, "proto": "tcp"},
        {"title": "Port Scan", "source_ip": "10.0.0.3", "anomaly_score": 12.25, "port": 53, "proto": "udp"},
    ]
    (stamp,) = stamps
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert abs(datetime.fromisoformat(stamp) - before).total_seconds() < 120
    types = field_types(client, index)
    assert {name: types[name] for name in ("@timestamp", "title", "source_ip", "anomaly_score")} == {
        "@timestamp": "date",
        "title": "keyword",
        "source_ip": "keyword",
        "anomaly_score": "float",
    }
    out, err = capsys.readouterr()
    assert f"(Port Scan) - Written 3 Documents to Elasticsearch {elasticsearch.url} index {index}" in out
    assert "key 'doc_type': ignored (Elasticsearch 8+ has no mapping types)" in err


def test_debug_prints_each_document_and_still_writes_them(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path, capsys
) -> None:
    index = unique_index()
    conf = batch_usecase(tmp_path / "uc", es_section(elasticsearch, index, "debug = true\ntitle = Scans\n"))
    settings = settings_for(tmp_path)
    run_conf(spark_context, settings, conf)

    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert sorted(printed, key=lambda doc: doc["source_ip"]) == sources(client, index)
    assert {doc["title"] for doc in printed} == {"Scans"} and len(printed) == len(BATCH_LINES)


def deliver_rows(spark_context, prepared, settings, rows: list[tuple], batch_time: datetime) -> None:
    """One batch of ``rows`` through the engine's delivery, as a (replayed) streaming batch would."""
    dead_letters = DeadLetters(spark_context, settings.deadletter_dir, prepared.usecase.name)
    deliver(prepared, spark_context.parallelize(rows, 2), dead_letters, batch_time)


def test_a_replayed_batch_overwrites_its_documents_and_rows_sharing_a_key_do_not(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    settings = settings_for(tmp_path)
    prepared = prepare(
        settings, read_usecase(batch_usecase(tmp_path / "uc", es_section(elasticsearch, index)))
    )
    rows = [(f"10.0.1.{n}", n) for n in range(50)]
    rows += [("10.0.1.0", 0, {"minute": minute}) for minute in range(10)]  # same key, other documents
    batch_time = datetime(2026, 11, 23, 12, 0, 5)
    for _ in range(2):
        deliver_rows(spark_context, prepared, settings, rows, batch_time)
    assert len(sources(client, index)) == 60
    deliver_rows(spark_context, prepared, settings, rows, datetime(2026, 11, 23, 12, 0, 10))
    assert len(sources(client, index)) == 120, "another batch time is another batch"


def test_a_document_the_mapping_rejects_is_dead_lettered_and_the_rest_written(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path, capsys
) -> None:
    index = unique_index()
    settings = settings_for(tmp_path)
    prepared = prepare(
        settings, read_usecase(batch_usecase(tmp_path / "uc", es_section(elasticsearch, index)))
    )
    deliver_rows(
        spark_context, prepared, settings, [("10.0.2.1", 1, {"port": 22})], datetime(2026, 11, 23, 12)
    )
    rows = [("10.0.2.2", 2, {"port": 80}), ("10.0.2.3", 3, {"port": "http"}), ("10.0.2.4", 4, {"port": 443})]
    deliver_rows(spark_context, prepared, settings, rows, datetime(2026, 11, 23, 12, 0, 5))

    assert [doc["source_ip"] for doc in sources(client, index)] == ["10.0.2.1", "10.0.2.2", "10.0.2.4"]
    assert "Written 2 Documents to Elasticsearch" in capsys.readouterr().out.splitlines()[-1]
    (letter,) = [
        json.loads(line) for path in settings.deadletter_dir.rglob("*.jsonl") for line in path.open()
    ]
    assert (letter["usecase"], letter["stage"], letter["event"]) == ("Port Scan", "output", repr(rows[1]))
    assert letter["reason"].startswith("400 document_parsing_exception: ")
    assert "failed to parse field [port] of type [long]" in letter["reason"]


def streaming_usecase(folder: Path, section: str) -> Path:
    """A streaming use case on the global Kafka stream: one document per JSON event, key = its id."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(ONE_ROW_PER_EVENT))
    (folder / "training.txt").write_text("unused\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Every Event\ntype = streaming\ncode = uc.py\ntraining = training.txt\n"
        f"output = elasticsearch\nformat = json\n{section}"
    )
    return conf


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def count(client: Elasticsearch, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    return client.count(index=index)["count"]


def test_a_stream_indexes_every_event_once(
    spark_context, elasticsearch: ElasticsearchNode, kafka: KafkaBroker, client: Elasticsearch, tmp_path: Path
) -> None:
    index, topic = unique_index(), new_topic(kafka.bootstrap_servers)
    events = json_events(300, kind="scan")
    produce(kafka.bootstrap_servers, topic, events)
    settings = reading_from_start(
        tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=50
    )  # batches
    conf = streaming_usecase(
        tmp_path / "uc", es_section(elasticsearch, index, "pkey = event_id\nscore = hits\n")
    )
    run_until(spark_context, settings, [conf], lambda: count(client, index) >= len(events))

    client.indices.refresh(index=index)
    hits = client.search(index=index, size=1000)["hits"]["hits"]
    assert sorted(hit["_source"]["event_id"] for hit in hits) == sorted(json.loads(e)["id"] for e in events)
    assert {(doc["title"], doc["hits"], doc["kind"]) for doc in (hit["_source"] for hit in hits)} == {
        ("Every Event", 1, "scan")
    }
    types = field_types(client, index)
    assert (types["@timestamp"], types["event_id"], types["hits"], types["title"]) == (
        "date",
        "keyword",
        "float",
        "keyword",
    )


def test_an_outage_fails_the_batch_and_a_restart_delivers_what_it_missed(
    spark_context, elasticsearch: ElasticsearchNode, kafka: KafkaBroker, client: Elasticsearch, tmp_path: Path
) -> None:
    index, topic = unique_index(), new_topic(kafka.bootstrap_servers)
    group = group_of(topic)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    conf = streaming_usecase(tmp_path / "uc", es_section(elasticsearch, index, "retry_seconds = 5\n"))
    produce(kafka.bootstrap_servers, topic, json_events(30))
    delivered_before: dict[int, int] = {}

    def outage() -> None:
        wait_for(lambda: count(client, index) == 30, "the first events")
        wait_for(
            lambda: (
                committed(kafka.bootstrap_servers, group, topic)
                == end_offsets(kafka.bootstrap_servers, topic)
            ),
            "the first commit",
        )
        delivered_before.update(committed(kafka.bootstrap_servers, group, topic))
        elasticsearch.stop()
        produce(kafka.bootstrap_servers, topic, json_events(30, start=30))

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    try:
        with pytest.raises(UseCaseError) as failure:
            run_conf(spark_context, settings, conf, timeout=120)
        thread.join()
        assert re.fullmatch(
            rf"streaming stopped: \(Every Event\) - Failed: .*Elasticsearch at {elasticsearch.url}: "
            r"bulk failed after \d+ tries in \d s: ConnectionError: .*Connection refused",
            str(failure.value),
        ), str(failure.value)
        assert committed(kafka.bootstrap_servers, group, topic) == delivered_before, "nothing acknowledged"
    finally:
        thread.join()
        elasticsearch.start()

    run_until(spark_context, settings, [conf], lambda: count(client, index) >= 60)
    assert count(client, index) == 60
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)


def test_a_batch_replayed_after_a_restart_overwrites_what_its_first_delivery_indexed(
    spark_context, elasticsearch: ElasticsearchNode, kafka: KafkaBroker, client: Elasticsearch, tmp_path: Path
) -> None:
    """Indexed by one use case, failed by another on the same stream: the batch is not
    acknowledged, and the restart replays it with the same cut and time, so the same ``_id``s."""
    index, topic = unique_index(), new_topic(kafka.bootstrap_servers)
    produce(kafka.bootstrap_servers, topic, json_events(300))
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=50)
    indexed = streaming_usecase(tmp_path / "es", es_section(elasticsearch, index))
    blocker = tmp_path / "csv" / "results"
    failing = usecase(tmp_path / "csv", "Flaky Output", out="results/out.csv")
    blocker.write_text("a file where the output's folder should be\n")

    with pytest.raises(UseCaseError, match=r"\(Flaky Output\) - Failed"):
        run_streaming(
            spark_context,
            RunContext(settings),
            [prepare(settings, read_usecase(conf)) for conf in (indexed, failing)],
            debug=False,
            timeout=30,
        )
    first_delivery = count(client, index)
    assert first_delivery >= 150, "the first batch was indexed before the other use case failed it"
    assert committed(kafka.bootstrap_servers, group_of(topic), topic) == {0: 0, 1: 0, 2: 0}

    blocker.unlink()
    out = blocker / "out.csv"
    run_until(spark_context, settings, [indexed, failing], lambda: sum(ids_in(out).values()) >= 300)
    assert count(client, index) == 300, f"{first_delivery} indexed first, then duplicated by the replay"
    assert ids_in(out) == Counter(f"e{n}" for n in range(300))


def run_port_scan(spark_context, tmp_path: Path, section: str) -> None:
    """The port-scan batch use case with ``section``, run through the engine."""
    settings = settings_for(tmp_path)
    conf = batch_usecase(tmp_path / "uc", section)
    run_conf(spark_context, settings, conf)


def port_scan_indexed(spark_context, client: Elasticsearch, tmp_path: Path, section: str, index: str) -> int:
    """How many documents ``index`` holds after a port-scan run with ``section``."""
    run_port_scan(spark_context, tmp_path, section)
    return count(client, index)


def port_scan_failure(spark_context, tmp_path: Path, section: str) -> str:
    """The one-line error a failing port-scan run ends with (checked to be one line)."""
    with pytest.raises(UseCaseError) as failure:
        run_port_scan(spark_context, tmp_path, section)
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


def test_https_with_a_relative_ca_certs_and_basic_auth_indexes_every_row(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    (tmp_path / "uc").mkdir()
    shutil.copy(elasticsearch.ca, tmp_path / "uc" / "ca.pem")  # ca_certs is relative to the use case
    section = (
        f"[out_elasticsearch]\nhost = {elasticsearch.host}\nport = {elasticsearch.port}\nscheme = https\n"
        f"ca_certs = ca.pem\nusername = {elasticsearch.username}\npassword = {elasticsearch.password}\n"
        f"index_name = {index}\n"
    )
    assert port_scan_indexed(spark_context, client, tmp_path, section, index) == len(BATCH_LINES)


def test_an_api_key_instead_of_username_and_password_indexes_every_row(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    key = elasticsearch.create_api_key(index)
    section = es_section(elasticsearch, index, username=None, password=None, api_key=key)
    assert port_scan_indexed(spark_context, client, tmp_path / "first", section, index) == len(BATCH_LINES)

    client.security.invalidate_api_key(name=index)  # then refused: the key is what let the first run in
    assert "authentication failed (HTTP 401)" in port_scan_failure(spark_context, tmp_path / "again", section)


def test_certificates_are_verified_by_default_so_https_without_ca_certs_fails_and_writes_nothing(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    """The session's CA is not among those the client trusts by default (certifi's)."""
    index = unique_index()
    message = port_scan_failure(spark_context, tmp_path, es_section(elasticsearch, index, ca_certs=None))
    assert re.fullmatch(
        rf"\(Port Scan\) - Failed: Elasticsearch at {re.escape(elasticsearch.url)}: asking its version: "
        r"TLS certificate verification failed: unable to get local issuer certificate",
        message,
    ), message
    assert not client.indices.exists_index_template(name=f"datashark-{index}")
    assert not client.indices.exists(index=index)


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, on every request
def test_verify_certs_false_skips_the_certificate_check_and_says_so(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    section = es_section(elasticsearch, index, ca_certs=None, verify_certs="false")
    insecure = rf"'{re.escape(elasticsearch.url)}' using TLS with verify_certs=False"
    with pytest.warns(SecurityWarning, match=insecure):
        assert port_scan_indexed(spark_context, client, tmp_path, section, index) == len(BATCH_LINES)


def test_a_wrong_password_fails_at_once_saying_authentication_failed(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    section = es_section(elasticsearch, index, password=f"not-{elasticsearch.password}")
    message = port_scan_failure(spark_context, tmp_path, section)
    assert re.fullmatch(
        rf"\(Port Scan\) - Failed: Elasticsearch at {re.escape(elasticsearch.url)}: asking its version: "
        rf"authentication failed \(HTTP 401\): unable to authenticate user "
        rf"\[{elasticsearch.username}\] for REST request \[/\]",
        message,
    ), message
    assert not client.indices.exists(index=index)


def test_a_stream_refused_by_elasticsearch_stops_at_start_before_reading_kafka(
    spark_context, elasticsearch: ElasticsearchNode, kafka: KafkaBroker, client: Elasticsearch, tmp_path: Path
) -> None:
    """The index template is put while the use case is wired, so a wrong login is found before the
    stream starts: no batch is cut and the group commits nothing."""
    index, topic = unique_index(), new_topic(kafka.bootstrap_servers)
    produce(kafka.bootstrap_servers, topic, json_events(10))
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    section = es_section(elasticsearch, index, password=f"not-{elasticsearch.password}")
    conf = streaming_usecase(tmp_path / "uc", section)
    with pytest.raises(UseCaseError, match=r"^\(Every Event\) - Failed: .*asking its version.*HTTP 401"):
        run_conf(spark_context, settings, conf, timeout=60)
    assert set(committed(kafka.bootstrap_servers, group_of(topic), topic).values()) == {None}
    assert not client.indices.exists(index=index)


def test_hosts_lists_several_nodes_and_a_node_that_is_down_is_passed_over(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    hosts = f"127.0.0.1:{free_port()}, {elasticsearch.url}"  # the first one has nothing listening
    section = es_section(elasticsearch, index, host=None, port=None, hosts=hosts)
    assert port_scan_indexed(spark_context, client, tmp_path, section, index) == len(BATCH_LINES)


def flood_stage_block(client: Elasticsearch, index: str, blocked: bool) -> None:
    """What a node past its disk flood-stage watermark does to an index: writes get 429."""
    client.indices.put_settings(
        index=index, settings={"index.blocks.read_only_allow_delete": blocked or None}
    )


def test_documents_answered_429_are_sent_again_until_the_cluster_takes_them(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    """The block is lifted 2 s after the run put its index template (its bulk follows within a
    second; tries go on for retry_seconds, 120 s), so the first tries are refused and a later one lands."""
    index = unique_index()
    client.indices.create(index=index)
    flood_stage_block(client, index, True)

    def lift_during_the_tries() -> None:
        wait_for(lambda: client.indices.exists_index_template(name=f"datashark-{index}"), "the template")
        time.sleep(2)
        flood_stage_block(client, index, False)

    lifter = threading.Thread(target=lift_during_the_tries)
    lifter.start()
    try:
        assert (
            port_scan_indexed(spark_context, client, tmp_path, es_section(elasticsearch, index), index) == 3
        )
    finally:
        lifter.join()
    assert not list(settings_for(tmp_path).deadletter_dir.rglob("*.jsonl"))


def test_a_cluster_that_keeps_answering_429_fails_the_batch_after_its_tries(
    spark_context, elasticsearch: ElasticsearchNode, client: Elasticsearch, tmp_path: Path
) -> None:
    index = unique_index()
    client.indices.create(index=index)
    flood_stage_block(client, index, True)
    try:
        message = port_scan_failure(
            spark_context, tmp_path, es_section(elasticsearch, index, "retry_seconds = 5\n")
        )
    finally:
        flood_stage_block(client, index, False)
    assert re.fullmatch(
        rf"\(Port Scan\) - Failed: Elasticsearch at {re.escape(elasticsearch.url)}: bulk failed after \d+ "
        r"tries in \d s: [12] documents? refused, last with 429 cluster_block_exception: "
        r".*read-only-allow-delete.*",
        message,
    ), message
    assert count(client, index) == 0
    assert not list(settings_for(tmp_path).deadletter_dir.rglob("*.jsonl"))


ELSEWHERE = {"names": ["elsewhere-*"], "privileges": ["write", "create_index"]}


@pytest.mark.parametrize(
    ("rights", "refusal"),
    [
        (
            {"cluster": [], "indices": [ELSEWHERE]},
            "putting index template datashark-{index}: forbidden (HTTP 403): action "
            "[indices:admin/index_template/put] is unauthorized for API key id [{key_id}] of user [{user}], "
            "this action is granted by the cluster privileges [manage_index_templates,manage,all]",
        ),
        (
            {"cluster": ["manage_index_templates"], "indices": [ELSEWHERE]},
            "bulk: forbidden (HTTP 403): action [indices:admin/auto_create] is unauthorized for API key id "
            "[{key_id}] of user [{user}] on indices [{index}], this action is granted by the index "
            "privileges [auto_configure,create_index,manage,all]",
        ),
    ],
    ids=["template", "documents"],
)
def test_an_api_key_lacking_rights_fails_at_once_and_dead_letters_nothing(
    spark_context,
    elasticsearch: ElasticsearchNode,
    client: Elasticsearch,
    tmp_path: Path,
    rights: dict,
    refusal: str,
) -> None:
    """A 403 is about the key, not the documents: the batch fails instead of dead-lettering them all."""
    index = unique_index()
    key = elasticsearch.create_api_key(index, {"writer": rights})
    key_id = base64.b64decode(key).decode().split(":")[0]
    section = es_section(elasticsearch, index, username=None, password=None, api_key=key)
    assert port_scan_failure(spark_context, tmp_path, section) == (
        f"(Port Scan) - Failed: Elasticsearch at {elasticsearch.url}: "
        + refusal.format(index=index, key_id=key_id, user=elasticsearch.username)
    )
    assert not client.indices.exists(index=index)
    assert not list(settings_for(tmp_path).deadletter_dir.rglob("*.jsonl"))


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("port = 99999", r"key 'port': .*too big"),
        ("scheme = ftp", r"key 'scheme': .*\(allowed: http, https\)"),
        ("hosts = es1:9200\nhost = es2", r"key 'hosts': set either hosts or host/port, not both"),
        ("hosts = http://es1:9200/x/y", r"key 'hosts': 'http://es1:9200/x/y' is neither a URL nor host:port"),
        ("index_name = Web-%Y", r"key 'index_name': 'Web-%Y' makes 'Web-2026', not a valid index name"),
        ("username = dashboard", r"key 'username': needs 'password'"),
        (
            "api_key = k\nusername = u\npassword = p",
            r"key 'api_key': use either api_key or username/password",
        ),
        ("ca_certs = missing.pem", r"key 'ca_certs': file not found: .*missing\.pem"),
        ("pkey = title", r"keys 'pkey' and 'score': must differ"),
        ("refresh = true", r"key 'refresh' is not a known key"),
    ],
)
def test_bad_keys_are_config_errors_naming_file_section_and_key(
    tmp_path: Path, keys: str, message: str
) -> None:
    conf = batch_usecase(tmp_path / "uc", f"[out_elasticsearch]\n{keys}\n")
    with pytest.raises(ConfigError, match=re.escape(f"{conf}: [out_elasticsearch]") + ".*" + message):
        load_output_plugin(REPO, read_usecase(conf))


def test_original_keys_load_with_notices_for_what_is_ignored(tmp_path: Path, capsys) -> None:
    section = "[out_elasticsearch]\nhost = es.local\nport = 9201\ndoc_type = spark-driver\n"
    conf = batch_usecase(tmp_path / "uc", section + "[[options]]\nes.input.json = false\n")
    plugin = load_output_plugin(REPO, read_usecase(conf))
    assert plugin.connection.hosts == ("http://es.local:9201",)
    assert (plugin.index_name, plugin.fields.key_field, plugin.fields.score_field) == (
        "usecase",
        "source_ip",
        "anomaly_score",
    )
    assert capsys.readouterr().err.splitlines() == [
        f"{conf}: [out_elasticsearch], key 'doc_type': ignored (Elasticsearch 8+ has no mapping types)",
        f"{conf}: [out_elasticsearch][options]: ignored (es-hadoop settings; es-hadoop is not used)",
    ]


OUTAGE_EVENTS = 100_000
OUTAGE_SECONDS = 30


def test_drill_a_30_s_outage_mid_stream_is_ridden_out_by_the_retries(
    spark_context, elasticsearch: ElasticsearchNode, kafka: KafkaBroker, client: Elasticsearch, tmp_path: Path
) -> None:
    """Drill: the node stops for 30 s (then takes its time to start) while 100,000 events stream.

    The output's retries (``retry_seconds``, 120 s by default) outlast it: the stream never
    fails, every event is indexed once (ids derive from the document), nothing is dead-lettered,
    and the group's offsets reach the end of the topic.
    """
    index, topic = unique_index(), new_topic(kafka.bootstrap_servers)
    group = group_of(topic)
    produce(kafka.bootstrap_servers, topic, json_events(OUTAGE_EVENTS))
    # Small batches, so the outage falls in the middle of the stream, not after it.
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=4000)
    conf = streaming_usecase(tmp_path / "uc", es_section(elasticsearch, index))
    outage: dict[str, float] = {}

    def indexed() -> int:
        try:
            return count(client, index)
        except Exception:  # the node is down
            return -1

    def stop_for_a_while() -> None:
        outage["stream start"] = time.monotonic()
        wait_for(lambda: indexed() > 0, "the first documents", timeout=120)
        outage["indexed before"] = indexed()
        elasticsearch.stop()
        started = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        elasticsearch.start()
        outage["down for"] = time.monotonic() - started

    thread = threading.Thread(target=stop_for_a_while, daemon=True)
    thread.start()
    try:
        run_until(
            spark_context,
            settings,
            [conf],
            lambda: (
                "down for" in outage
                and committed(kafka.bootstrap_servers, group, topic)
                == end_offsets(kafka.bootstrap_servers, topic)
            ),
            timeout=600,
        )
    finally:
        thread.join()
    print(  # the drill's figures, shown with pytest -s
        f"drill: {outage['indexed before']} of {OUTAGE_EVENTS} indexed before the stop; down (stop, "
        f"{OUTAGE_SECONDS} s, start) {outage['down for']:.0f} s; whole stream "
        f"{time.monotonic() - outage['stream start']:.0f} s"
    )
    assert 0 < outage["indexed before"] < OUTAGE_EVENTS, "the outage fell mid-stream"
    assert outage["down for"] >= OUTAGE_SECONDS
    assert count(client, index) == OUTAGE_EVENTS
    client.indices.refresh(index=index)
    ids = client.search(index=index, size=0, aggs={"ids": {"cardinality": {"field": "source_ip"}}})
    assert ids["aggregations"]["ids"]["value"] >= OUTAGE_EVENTS * 0.99  # cardinality is approximate
    assert not list(settings.deadletter_dir.rglob("*.jsonl")), "nothing dead-lettered"
