#!/usr/bin/env bash
# Installs dataShark into a Python virtual environment. Safe to run again: it only does
# what is missing. Touches nothing outside the environment's folder, except installing
# Debian's OpenJDK 17 (and python3-venv) when run as root on a machine without them.
#
#   ./install.sh               environment in ./.venv
#   ./install.sh --prefix DIR  environment in DIR/datashark (recorded in .datashark-venv)
#   ./install.sh --kerberos    also the Kerberos login to WebHDFS (builds gssapi: as root on Debian,
#                              installs libkrb5-dev, gcc and python3-dev for it)
#   ./install.sh --dev         also the test and lint tools (pytest, ruff), and --kerberos
# Versions are those of constraints.txt, which the test suite last passed with.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$root/.venv"
extras="kafka,elasticsearch,hdfs"
min_java=17

say() { printf '[*] %s\n' "$*"; }
die() { printf '[X] %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; venv="$2/datashark"; shift 2 ;;
    --prefix=*) venv="${1#--prefix=}/datashark"; shift ;;
    --kerberos) extras="$extras,kerberos"; shift ;;
    --dev) extras="$extras,kerberos,dev"; shift ;;
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
make_venv
kerberos_build_tools
install_package
if [[ "$venv" == "$root/.venv" ]]; then
  rm -f "$root/.datashark-venv"
else
  echo "$venv" >"$root/.datashark-venv"
fi
"$venv/bin/python" -c 'import pyspark, configobj; print("[*] PySpark", pyspark.__version__, "ready")'
say "Done. Try: $root/standalone.sh $root/conf/wordcount/wordcount.conf"
