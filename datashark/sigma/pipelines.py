"""The processing pipelines that map Sigma's generic log sources and fields to the events' own.

A use case names them in ``sigma.pipeline`` (applied in the order given): the pySigma pipelines
installed with dataShark by name, or a pipeline YAML file of pySigma's format by path.

- ``sysmon``: Sysmon event ids for Sigma's Windows categories (process_creation -> EventID 1...);
- ``windows-logsources``: the Windows ``Channel`` of each service (sysmon, security, powershell...);
- ``windows-audit``: Security audit events (4688...) for the categories they log;
- ``none``: rules as written.

Field names stay Sigma's, which are those of the flat JSON of OTRF Security-Datasets, NXLog and
HELK (``Image``, ``CommandLine``, ``EventID``); Winlogbeat's nested events need a pipeline file
such as ``conf/sigma/pipelines/winlogbeat.yml``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sigma.processing.pipeline import ProcessingPipeline

from datashark.errors import ConfLocation


def _sysmon() -> ProcessingPipeline:
    from sigma.pipelines.sysmon import sysmon_pipeline

    return sysmon_pipeline()


def _windows_logsources() -> ProcessingPipeline:
    from sigma.pipelines.windows import windows_logsource_pipeline

    return windows_logsource_pipeline()


def _windows_audit() -> ProcessingPipeline:
    from sigma.pipelines.windows import windows_audit_pipeline

    return windows_audit_pipeline()


NAMED: dict[str, Callable[[], ProcessingPipeline]] = {
    "sysmon": _sysmon,
    "windows-logsources": _windows_logsources,
    "windows-audit": _windows_audit,
}
NONE = "none"


def processing_pipeline(
    names: list[str], resolve: Callable[[str], str], where: ConfLocation
) -> ProcessingPipeline:
    """The pipelines ``names`` (named or YAML files, ``resolve`` giving a file's path) as one,
    applied in order. A ConfigError at ``where`` names the pipeline that is neither, or the
    file that fails."""
    pipeline = ProcessingPipeline()
    for name in names:
        if name == NONE:
            continue
        if name in NAMED:
            pipeline += NAMED[name]()
            continue
        path = Path(resolve(name))
        if not path.is_file():
            raise where.error(
                f"no pipeline {name!r}: name one of {', '.join([*NAMED, NONE])}, or a pipeline YAML file"
            )
        try:
            pipeline += ProcessingPipeline.from_yaml(path.read_text(encoding="utf-8"))
        except Exception as err:  # pySigma raises many kinds on a bad file
            raise where.error(f"{path}: not a pySigma processing pipeline: {err}") from err
    return pipeline
