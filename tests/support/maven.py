"""Fetching server jars and distributions from Maven Central with ``mvn``.

Each fetch writes a throw-away pom listing the artifacts and runs the dependency plugin's
``copy-dependencies`` (an explicit plugin version: Maven's default one is old) into a
folder of the cache; a stamp file makes later runs skip it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.cache import CACHE, apt_install, progress, run_checked

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
LOCAL_REPOSITORY = CACHE / "m2"


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str
    type: str = "jar"

    def xml(self) -> str:
        return (
            f"<dependency><groupId>{self.group}</groupId><artifactId>{self.name}</artifactId>"
            f"<version>{self.version}</version><type>{self.type}</type></dependency>"
        )


def ensure_maven() -> None:
    """Maven comes with this project's machines; elsewhere, Debian's package (as root) or a message."""
    if not shutil.which("mvn"):
        apt_install("maven")


def copy_dependencies(folder_name: str, artifacts: list[Artifact], *, transitive: bool = True) -> Path:
    """``CACHE/<folder_name>/lib`` holding ``artifacts`` (and their runtime dependencies)."""
    folder = CACHE / folder_name
    lib = folder / "lib"
    stamp = folder / "fetched"
    wanted = "\n".join(artifact.xml() for artifact in artifacts) + f"\ntransitive={transitive}"
    if stamp.is_file() and stamp.read_text() == wanted:
        return lib
    ensure_maven()
    progress(f"fetching {', '.join(f'{a.name}:{a.version}' for a in artifacts)} with mvn into {lib}")
    shutil.rmtree(lib, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    pom = folder / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>datashark.tests</groupId><artifactId>{folder_name}</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{''.join(a.xml() for a in artifacts)}"
        "</dependencies></project>"
    )
    run_checked(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            f"-Dmaven.repo.local={LOCAL_REPOSITORY}",
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
            f"-DexcludeTransitive={str(not transitive).lower()}",
        ],
        what=f"fetching {folder_name} with Maven",
    )
    stamp.write_text(wanted)
    return lib


def copy_artifact(folder_name: str, artifact: Artifact) -> Path:
    """``CACHE/<folder_name>/<file>``: one artifact alone, with ``dependency:copy``.

    For distributions published without a pom (Elasticsearch's integ-test zip), which
    ``copy_dependencies`` cannot resolve.
    """
    folder = CACHE / folder_name
    target = folder / f"{artifact.name}-{artifact.version}.{artifact.type}"
    if target.is_file():
        return target
    ensure_maven()
    progress(f"fetching {artifact.group}:{artifact.name}:{artifact.version}:{artifact.type} with mvn")
    folder.mkdir(parents=True, exist_ok=True)
    coordinates = f"{artifact.group}:{artifact.name}:{artifact.version}:{artifact.type}"
    run_checked(
        [
            "mvn",
            "-B",
            "-q",
            f"-Dmaven.repo.local={LOCAL_REPOSITORY}",
            f"{DEPENDENCY_PLUGIN}:copy",
            f"-Dartifact={coordinates}",
            f"-DoutputDirectory={folder}",
        ],
        what=f"fetching {coordinates} with Maven",
        cwd=folder,
    )
    return target
