#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dataShark with its test tools, fetches
# the test servers (Kafka, Elasticsearch, HDFS, rsyslog; cached in .cache/services), checks the
# code with ruff (lint and format) and mypy (types of datashark/), then runs pytest (extra
# arguments go to pytest, e.g. ./test.sh tests/unit -k csv), then every use case's test cases
# (`bin/datashark test`: conf/*/tests/*.yml). Any finding fails the run.
# pytest's "no tests collected" (exit 5) counts as a failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/install.sh" --dev || exit $?
cd "$root" || exit 1
"$root/bin/venv-python" -m tests.support.provision || exit $?
"$root/bin/venv-python" -m ruff check . || exit $?
"$root/bin/venv-python" -m ruff format --check . || exit $?
"$root/bin/venv-python" -m mypy || exit $?
"$root/bin/venv-python" -m pytest "$@"
status=$?
if ((status == 5)); then
  echo "[X] pytest collected no tests" >&2
  exit 1
fi
((status == 0)) || exit "$status"
# The use cases of this checkout, whatever DATASHARK_HOME the caller's shell names.
DATASHARK_HOME="$root" "$root/bin/datashark" test
