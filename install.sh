#!/usr/bin/env bash
# Installs dataShark into a Python virtual environment. Safe to run again: it only does
# what is missing. Touches nothing outside the environment's folder and lib/, except installing
# Debian's OpenJDK 17 (and python3-venv) when run as root on a machine without them.
#
#   ./install.sh               environment in ./.venv
#   ./install.sh --prefix DIR  environment in DIR/datashark (recorded in .datashark-venv)
#   ./install.sh --kerberos    also the Kerberos login to WebHDFS (builds gssapi: as root on Debian,
#                              installs libkrb5-dev, gcc and python3-dev for it)
#   ./install.sh --acquire     also rsyslog, its Kafka output, TLS driver and RELP input for
#                              ./acquire.sh (as root on Debian or Ubuntu: rsyslog, rsyslog-kafka,
#                              rsyslog-gnutls, rsyslog-relp; on a machine without rsyslog,
#                              Debian also starts it as the system logger); acquire.sh runs its
#                              own rsyslogd
#   ./install.sh --dev         also the test and lint tools (pytest, ruff, mypy, and nbclient with
#                              ipykernel to run the notebooks), --kerberos and --acquire
# Python packages are those of constraints.txt, which the test suite last passed with. Into lib/
# it fetches with curl from Maven Central, each jar checked against its .sha1, Spark's Kafka SQL
# connector (spark.readStream.format("kafka")) and the jars it needs that PySpark lacks:
# spark-sql-kafka-0-10, spark-token-provider-kafka-0-10, kafka-clients and commons-pool2: the
# connector of the installed PySpark's version, else the newest known to work, pinned in this
# script (4.2.0 while Maven Central does not serve 4.3.0's). See lib/README.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$root/.venv"
extras="kafka,elasticsearch,hdfs,notebook,sigma"
min_java=17
maven_central="https://repo1.maven.org/maven2"
# The Kafka SQL connector when Maven Central does not serve the installed PySpark's version (4.3.0
# is not there): the newest known to work, with the kafka-clients and commons-pool2 its pom names.
# Used only for a PySpark of the same major version and not older than the connector.
kafka_connector_fallback=4.2.0
kafka_clients_fallback=3.9.2
commons_pool2_fallback=2.13.1

acquire=0  # --acquire: rsyslog for ./acquire.sh
partial=""  # a jar being downloaded, removed if the script stops
trap '[[ -z "$partial" ]] || rm -f "$partial"' EXIT

say() { printf '[*] %s\n' "$*"; }
die() { printf '[X] %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

while (($#)); do
  case "$1" in
    --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; venv="$2/datashark"; shift 2 ;;
    --prefix=*) venv="${1#--prefix=}/datashark"; shift ;;
    --kerberos) extras="$extras,kerberos"; shift ;;
    --acquire) acquire=1; shift ;;
    --dev) extras="$extras,kerberos,dev"; acquire=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; printf '[X] unknown option: %s\n' "$1" >&2; exit 2 ;;
  esac
done

is_debian_root() { [[ $EUID -eq 0 && -f /etc/debian_version ]] && command -v apt-get >/dev/null; }

apt_install() {
  say "Installing Debian packages: $*"
  if [[ ! -f "$root/.cache/apt-updated" ]]; then
    apt-get update -qq || die "apt-get update failed"
    mkdir -p "$root/.cache" && touch "$root/.cache/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    || die "apt-get install $* failed"
}

java_major() {
  local line
  line="$("${1:-java}" -version 2>&1 | head -n 1)" || return 1
  [[ "$line" =~ \"([0-9]+)(\.([0-9]+))? ]] || return 1
  if [[ "${BASH_REMATCH[1]}" == 1 ]]; then echo "${BASH_REMATCH[3]}"; else echo "${BASH_REMATCH[1]}"; fi
}

check_java() {
  local java=java major
  [[ -n "${JAVA_HOME:-}" ]] && java="$JAVA_HOME/bin/java"
  if major="$(java_major "$java")" && ((major >= min_java)); then
    say "Java $major found ($(command -v "$java"))"
    return
  fi
  if is_debian_root; then
    apt_install openjdk-17-jre-headless
    major="$(java_major java)" && ((major >= min_java)) || die "Java $min_java+ still not found after installing openjdk-17-jre-headless"
    say "Java $major installed (Debian openjdk-17-jre-headless)"
    return
  fi
  die "Java $min_java or newer is required by Spark and was not found (java -version). Install a JDK $min_java+ (e.g. 'apt-get install openjdk-17-jre-headless') or set JAVA_HOME, then rerun $0."
}

check_python() {
  command -v python3 >/dev/null || die "python3 (3.10 or newer) is required"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python 3.10 or newer is required; python3 is $(python3 -V 2>&1)"
}

make_venv() {
  if [[ -x "$venv/bin/python" ]]; then
    say "Virtual environment already present: $venv"
    return
  fi
  say "Creating virtual environment: $venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    is_debian_root || die "python3 -m venv failed: install your distribution's python3-venv package"
    apt_install python3-venv
    python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  fi
}

# gssapi (under requests-kerberos) has no wheel: it compiles against MIT Kerberos.
kerberos_build_tools() {
  [[ ",$extras," == *,kerberos,* ]] || return 0
  local headers
  headers="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  if command -v krb5-config >/dev/null && command -v gcc >/dev/null && [[ -f "$headers/Python.h" ]]; then
    return
  fi
  is_debian_root || die "the kerberos extra builds gssapi: install libkrb5-dev (krb5-config), gcc and python3-dev"
  apt_install libkrb5-dev gcc python3-dev
}

install_package() {
  local stamp="$venv/.datashark-installed" want
  want="$(cat "$root/pyproject.toml" "$root/constraints.txt" | sha1sum | cut -d' ' -f1) $root [$extras]"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
    say "dataShark [$extras] already installed in $venv"
    return
  fi
  say "Installing dataShark [$extras] into $venv (pip; the first time downloads PySpark, ~450 MB)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --constraint "$root/constraints.txt" -e "$root[$extras]" \
    || die "pip install -e '$root[$extras]' (with constraints.txt) failed"
  echo "$want" >"$stamp"
}

# "group artifact version" of Spark's Kafka SQL connector $1 (Scala $2) and of the jars it needs
# at run time that PySpark's jars/ ($3) lacks, read from the poms on Maven Central: the compile and
# runtime dependencies, transitively, less exclusions and less what jars/ has in any version. On
# a failure, the last line says what failed.
kafka_connector_poms() {
  "$venv/bin/python" - "$maven_central" "$1" "$2" "$3" <<'PY'
import re
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

central, version, scala, jars = sys.argv[1:]
NS = "{http://maven.apache.org/POM/4.0.0}"
in_pyspark = [jar.name for jar in Path(jars).glob("*.jar")]


def fail(message):
    print(message)  # the last line, for install.sh's error
    sys.exit(1)


def text(element, key, default=""):
    return (element.findtext(NS + key) or default).strip()


def pom(group, name, ver):
    url = f"{central}/{group.replace('.', '/')}/{name}/{ver}/{name}-{ver}.pom"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return ET.parse(response).getroot()
    except Exception as e:
        fail(f"reading {url} failed: {e}")


def properties(root, ver):
    """The pom's properties, then its parents' (the nearest wins), for ${name} versions."""
    values = {"project.version": ver}
    while root is not None:
        for prop in root.findall(f"{NS}properties/*"):
            values.setdefault(prop.tag.removeprefix(NS), (prop.text or "").strip())
        parent = root.find(NS + "parent")
        keys = ("groupId", "artifactId", "version")
        root = None if parent is None else pom(*(text(parent, key) for key in keys))
    return values


def in_jars(name):
    """PySpark's jars/ has the artifact, in any version (<name>-<digit>...jar)."""
    return any(re.fullmatch(re.escape(name) + r"-\d.*\.jar", jar) for jar in in_pyspark)


wanted, queue = {}, [("org.apache.spark", f"spark-sql-kafka-0-10_{scala}", version, frozenset())]
while queue:
    group, name, ver, excluded = queue.pop(0)
    if (group, name) in wanted:
        continue
    wanted[group, name] = ver
    root, props = pom(group, name, ver), None
    for dep in root.findall(f"{NS}dependencies/{NS}dependency"):
        g, a, v = text(dep, "groupId"), text(dep, "artifactId"), text(dep, "version")
        if text(dep, "scope", "compile") not in ("compile", "runtime") or text(dep, "optional") == "true":
            continue
        if text(dep, "type", "jar") != "jar" or {(g, a), (g, "*"), ("*", "*")} & excluded or in_jars(a):
            continue
        if v.startswith("${"):
            props = props or properties(root, ver)
            v = props.get(v[2:-1], v)
        if not v or "$" in v or v[0] in "[(":
            fail(f"no plain version for {g}:{a} in {name}-{ver}.pom ({v or 'none'})")
        exclusions = {(text(x, "groupId"), text(x, "artifactId")) for x in dep.iter(NS + "exclusion")}
        queue.append((g, a, v, excluded | exclusions))
for (group, name), ver in wanted.items():
    print(group, name, ver)
PY
}

# lib/<artifact>-<version>.jar from Maven Central, checked against the .sha1 there; written under
# a temporary name, then renamed. Nothing to do when it is already there.
fetch_jar() {
  local group="$1" name="$2" version="$3" url file code sum want
  url="$maven_central/${group//.//}/$name/$version/$name-$version.jar"
  file="$root/lib/$name-$version.jar"
  [[ -f "$file" ]] && return 0
  partial="$root/lib/.$name-$version.jar.part"
  code="$(curl --fail --silent --location --retry 3 --output "$partial" --write-out '%{http_code}' "$url")" \
    || die "downloading $url failed (HTTP $code, curl exit $?)"
  want="$(curl --fail --silent --location --retry 3 "$url.sha1")" || die "downloading $url.sha1 failed"
  want="${want:0:40}"
  sum="$(sha1sum "$partial" | cut -d' ' -f1)"
  [[ "$sum" == "$want" ]] || die "$url: SHA-1 $sum is not Maven Central's ${want:-(empty)}"
  mv -f "$partial" "$file"
  partial=""
  say "Fetched lib/$name-$version.jar"
}

# The installed PySpark's version and its jars/ folder.
pyspark_info() {
  "$venv/bin/python" -c 'import os, pyspark; print(pyspark.__version__, os.path.join(os.path.dirname(pyspark.__file__), "jars"))'
}

# Spark's Kafka SQL connector and its run-time dependencies into lib/, where every run hands them
# to Spark (spark.jars): the connector of PySpark's own version when Maven Central serves it, else
# the pinned fallback. Other versions of these jars in lib/, and jars an earlier run put there that
# are no longer wanted, are removed. A stamp in the environment lists what is there, so a second
# run needs no network.
kafka_connector() {
  local stamp="$venv/.datashark-kafka-connector" spark jars core scala version pom code
  local out line group artifact file old present=1
  local -a wanted=() files=() before=()
  read -r spark jars < <(pyspark_info) || die "PySpark is not importable from $venv"
  if [[ -f "$stamp" ]]; then
    mapfile -t before < <(tail -n +2 "$stamp")
    for file in "${before[@]}"; do [[ -f "$root/lib/$file" ]] || present=0; done
    if [[ "$(head -n 1 "$stamp")" == "$spark $root" ]] && ((${#before[@]} && present)); then
      say "Kafka SQL connector already in lib/: ${before[*]}"
      return
    fi
  fi
  core=("$jars"/spark-core_*.jar)
  [[ "${core[0]##*/}" =~ ^spark-core_([0-9.]+)- ]] || die "no spark-core_<scala>-*.jar in $jars: is PySpark complete?"
  scala="${BASH_REMATCH[1]}"
  version="$spark"
  pom="$maven_central/org/apache/spark/spark-sql-kafka-0-10_$scala/$version/spark-sql-kafka-0-10_$scala-$version.pom"
  code="$(curl --silent --location --retry 3 --head --output /dev/null --write-out '%{http_code}' "$pom")" || code="000"
  if [[ "$code" == 200 ]]; then
    say "Kafka SQL connector $version (PySpark's version) from Maven Central"
    out="$(kafka_connector_poms "$version" "$scala" "$jars")" || die "${out##*$'\n'}"
    mapfile -t wanted <<<"$out"
  elif [[ "$code" == 404 ]]; then
    version="$kafka_connector_fallback"
    [[ "${spark%%.*}" == "${version%%.*}" && "$(printf '%s\n' "$version" "$spark" | sort -V | head -n 1)" == "$version" ]] \
      || die "Maven Central does not serve spark-sql-kafka-0-10_$scala $spark, and the fallback $version does not suit Spark $spark: set kafka_connector_fallback in $0"
    say "Kafka SQL connector $version on Spark $spark: Maven Central does not serve spark-sql-kafka-0-10_$scala $spark"
    wanted=(
      "org.apache.spark spark-sql-kafka-0-10_$scala $version"
      "org.apache.spark spark-token-provider-kafka-0-10_$scala $version"
      "org.apache.kafka kafka-clients $kafka_clients_fallback"
      "org.apache.commons commons-pool2 $commons_pool2_fallback"
    )
  else
    die "cannot reach Maven Central for the Kafka SQL connector: $pom (HTTP $code)"
  fi
  mkdir -p "$root/lib"
  for line in "${wanted[@]}"; do
    read -r group artifact version <<<"$line"
    fetch_jar "$group" "$artifact" "$version"
    files+=("$artifact-$version.jar")
  done
  for line in "${wanted[@]}"; do
    read -r group artifact version <<<"$line"
    for old in "$root/lib/$artifact"-[0-9]*.jar; do
      if [[ -f "$old" ]]; then before+=("${old##*/}"); fi
    done
  done
  for old in "${before[@]}"; do
    [[ -f "$root/lib/$old" && " ${files[*]} " != *" $old "* ]] || continue
    rm -f "$root/lib/$old"
    say "Removed lib/$old (no longer wanted)"
  done
  printf '%s\n' "$spark $root" "${files[@]}" >"$stamp"
}

# ./acquire.sh runs Debian's rsyslogd with omkafka (rsyslog-kafka), the GnuTLS driver
# (rsyslog-gnutls) and the RELP input (rsyslog-relp) under a configuration of its own, beside
# any system logger.
rsyslog_modules() {
  ((acquire)) || return 0
  local found
  found="$(ls /usr/lib/*/rsyslog/omkafka.so /usr/lib/rsyslog/omkafka.so 2>/dev/null | head -n 1 || true)"
  if [[ -n "$found" ]] && ls "$(dirname "$found")"/{lmnsd_gtls,imrelp}.so >/dev/null 2>&1; then
    say "rsyslog with omkafka, GnuTLS and RELP found ($(dirname "$found"))"
    return
  fi
  is_debian_root || die "--acquire needs rsyslog 8 with omkafka, a TLS driver and imrelp: as root on Debian or Ubuntu this script installs rsyslog, rsyslog-kafka, rsyslog-gnutls and rsyslog-relp; elsewhere install your system's rsyslog, its Kafka output module and its GnuTLS (or OpenSSL) driver and RELP input (imrelp)"
  apt_install rsyslog rsyslog-kafka rsyslog-gnutls rsyslog-relp
}

# MLlib (K-means in the samples) uses the system BLAS/LAPACK when there is one, else its slower
# Java code; as root on Debian, install them.
native_blas() {
  if ! ldconfig -p 2>/dev/null | grep -q 'libblas\.so\.3' && is_debian_root; then
    apt_install libblas3 liblapack3
  fi
}

check_python
check_java
native_blas
rsyslog_modules
make_venv
kerberos_build_tools
install_package
kafka_connector
if [[ "$venv" == "$root/.venv" ]]; then
  rm -f "$root/.datashark-venv"
else
  echo "$venv" >"$root/.datashark-venv"
fi
"$venv/bin/python" -c 'import pyspark, configobj; print("[*] PySpark", pyspark.__version__, "ready")'
say "Done. Try: $root/standalone.sh $root/conf/wordcount/wordcount.conf"
