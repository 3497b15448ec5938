"""``api = sigma``: a use case whose ``load()`` dataShark supplies, running a folder of Sigma rules.

The conf names the rules and the pipeline (``config/spec/sigma.spec``); the rules are compiled
when the use case is prepared, before Spark starts, and each rule that cannot run is listed once
then, one line each with its file and reason. The rest run as a DataFrame use case: the same
inputs, outputs, dead letters and streaming, the findings of ``findings.sigma_findings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from datashark import console
from datashark.errors import UseCaseError
from datashark.sigma.columns import text_columns
from datashark.sigma.correlations import correlations_of
from datashark.sigma.findings import FindingFields, sigma_findings
from datashark.sigma.matching import runnable
from datashark.sigma.pipelines import processing_pipeline
from datashark.sigma.rules import RuleSet, Unconverted, compile_rules, rule_files

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from datashark.config.usecase import UseCase

FORMATS = ("json", "parquet", "csv")


def names(value: str) -> list[str]:
    """A comma-separated conf list."""
    return [item.strip() for item in value.split(",") if item.strip()]


def check_sigma_conf(usecase: UseCase) -> None:
    """What a Sigma use case's conf must say beyond its keys' types (ConfigError)."""
    if usecase.conf["format"] not in FORMATS:
        raise usecase.location.at("format").error(
            f"api = sigma reads events with fields: {', '.join(FORMATS)}, not {usecase.conf['format']}"
        )


def sigma_module(usecase: UseCase) -> ModuleType:
    """The module standing for a Sigma use case's code: its ``load()`` runs the rules."""
    check_sigma_conf(usecase)
    module = ModuleType(f"datashark_sigma_{abs(hash(str(usecase.path)))}", __doc__)
    module.load = SigmaRules(usecase).load  # type: ignore[attr-defined]
    return module


class SigmaRules:
    """A Sigma use case's rules, compiled, and the ``load()`` that runs them over events."""

    def __init__(self, usecase: UseCase) -> None:
        conf = usecase.conf
        where = usecase.location
        self.usecase = usecase
        files = rule_files(usecase.resolve(pattern) for pattern in names(conf["rules"]))
        if not files:
            raise where.at("rules").error(f"no .yml or .yaml rule file in {conf['rules']}")
        pipeline = processing_pipeline(names(conf["pipeline"]), usecase.resolve, where.at("pipeline"))
        self.ruleset: RuleSet = compile_rules(files, pipeline, conf["sigma.keywords_field"])
        self.min_level: str = conf["sigma.min_level"]
        self.correlations, unrunnable = correlations_of(self.ruleset, len(self.ruleset.detections))
        self.ruleset.unconverted.extend(unrunnable)
        self.files = len(files)
        self.chunk: int = conf["sigma.chunk"]
        self.fields = FindingFields(
            host=names(conf["sigma.host_fields"]),
            user=names(conf["sigma.user_fields"]),
            time=names(conf["sigma.time_fields"]),
            event_id=names(conf["sigma.event_id_fields"]),
            window_minutes=conf["sigma.window_minutes"],
            late_minutes=conf["sigma.late_minutes"],
            max_users=conf["sigma.max_users"],
        )
        self.reported: set[str] = set()
        self.report(self.ruleset.unconverted)
        if usecase.type == "streaming" and not conf["schema"]:  # JSON (check_frame_conf)
            conf["schema"] = text_columns(self.fields_read(conf["sigma.keywords_field"]))

    def fields_read(self, keywords_field: str) -> list[str]:
        """Every event field the rules, correlations and findings read."""
        fields = self.fields
        return [
            *(name for detection in self.ruleset.detections for name in detection.fields),
            *(name for correlation in self.correlations for name in correlation.fields_read),
            *fields.host,
            *fields.user,
            *fields.time,
            *fields.event_id,
            keywords_field,
        ]

    def load(self, events: DataFrame, spark: SparkSession) -> DataFrame:
        """The findings of every rule that runs over ``events`` (see ``findings``)."""
        jvm = spark.sparkContext._jvm
        assert jvm is not None  # a running context's
        level = self.min_level  # a rule feeding a correlation runs whatever its level
        chosen = [rule for rule in self.ruleset.detections if rule.at_least(level) or not rule.output]
        conditions, failed = runnable(events, chosen, self.chunk, jvm.java.util.regex.Pattern.compile)
        self.report(failed)
        if not conditions:
            raise UseCaseError(
                f"none of the {len(self.ruleset.detections)} converted Sigma rules can run"
                f" (sigma.min_level = {self.min_level}: {len(chosen)} of them at that level or above)"
            )
        below = len(self.ruleset.detections) - len(chosen)
        summary = (
            f"Sigma: {len(conditions)} rules of {self.files} files run"
            f" ({len(self.ruleset.unconverted) + len(failed)} set aside"
            f"{f', {below} below {self.min_level}' if below else ''})"
        )
        if summary not in self.reported:
            self.reported.add(summary)
            console.info(f"({self.usecase.name}) {summary}")
        runs = {detection.number for detection, _ in conditions}
        correlations = [item for item in self.correlations if runs.issuperset(item.rules)]
        self.report(
            Unconverted(item.file, item.title, "a rule it correlates cannot run")
            for item in self.correlations
            if item not in correlations
        )
        return sigma_findings(
            events, conditions, correlations, self.fields, self.chunk, streaming=events.isStreaming
        )

    def report(self, unconverted: Iterable[Unconverted]) -> None:
        """One line each, once per process: the rules that cannot run, and why."""
        for item in unconverted:
            line = f"[!] {self.usecase.path}: Sigma rule {item}"
            if line not in self.reported:
                self.reported.add(line)
                console.to_stderr(line)
