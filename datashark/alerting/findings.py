"""Where a use case's findings are: the cluster, the index and the key field its
``[out_elasticsearch]`` writes, as the output plugin itself reads them from the conf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from datashark.config.usecase import read_usecase
from datashark.elastic.connection import Connection
from datashark.errors import ConfigError, ConfLocation
from datashark.loading.plugin_loader import load_output_plugin

OUTPUT = "elasticsearch"
RULES_FOLDER = "elastalert"  # in a use case's folder: the ElastAlert2 rules on its findings
RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Findings:
    """A use case's findings in Elasticsearch."""

    conf: Path
    where: ConfLocation  # its [out_elasticsearch] section
    connection: Connection
    index: str  # the index a write at ``written_at`` goes to (index_name's strftime filled in)
    key_field: str  # where the finding's key is (pkey)

    @property
    def rules_folder(self) -> Path:
        return self.conf.parent / RULES_FOLDER


def rule_files(folder: Path) -> list[Path]:
    """The ElastAlert2 rules in ``folder``, by name."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix in RULE_SUFFIXES and path.is_file())


def findings_of(home: Path, conf: Path, written_at: datetime | None = None) -> Findings:
    """The findings of the use case ``conf``; ConfigError when it does not write to Elasticsearch."""
    usecase = read_usecase(conf, check_data=False)
    if usecase.output != OUTPUT:
        raise usecase.location.at("output").error(
            f"is {usecase.output}: ElastAlert2 alerts on findings in Elasticsearch "
            f"(output = {OUTPUT}, with an [out_{OUTPUT}] section)"
        )
    plugin = load_output_plugin(home, usecase)
    where = usecase.location.section(f"out_{OUTPUT}")
    connection, index_for = getattr(plugin, "connection", None), getattr(plugin, "index_for", None)
    fields = getattr(plugin, "fields", None)
    if not isinstance(connection, Connection) or index_for is None or fields is None:
        raise where.error(f"{type(plugin).__module__} is not dataShark's Elasticsearch output")
    return Findings(
        conf=usecase.path,
        where=where,
        connection=connection,
        index=index_for(written_at or datetime.now(timezone.utc)),
        key_field=fields.key_field,
    )


def default_confs(home: Path) -> list[Path]:
    """Every ``conf/*/*.conf`` that writes to Elasticsearch and has rules beside it."""
    confs = []
    for conf in sorted((home / "conf").glob("*/*.conf")):
        if not rule_files(conf.parent / RULES_FOLDER):
            continue
        if read_usecase(conf, check_data=False).output == OUTPUT:
            confs.append(conf)
    if not confs:
        raise ConfigError(
            f"no use case in {home / 'conf'} writes to Elasticsearch with ElastAlert2 rules beside it: "
            f"set output = {OUTPUT} and [out_{OUTPUT}] in a conf whose folder has {RULES_FOLDER}/*.yaml"
        )
    return confs


def one_cluster(findings: list[Findings]) -> Connection:
    """The connection every use case shares: ElastAlert2 reads one cluster (and keeps its
    state there); ConfigError naming the first use case that writes elsewhere."""
    first = findings[0]
    for other in findings[1:]:
        if other.connection != first.connection:
            raise other.where.error(
                f"writes to {other.connection.where} (or logs in differently) than {first.conf} "
                f"({first.connection.where}): one ElastAlert2 reads one cluster; run one "
                "`datashark alert CONF...` per cluster"
            )
    return first.connection
