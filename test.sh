#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dataShark with its test tools, fetches
# the test servers (Kafka, Elasticsearch, HDFS, rsyslog; cached in .cache/services), then runs
# pytest (extra arguments go to pytest, e.g. ./test.sh tests/unit -k csv).
# pytest's "no tests collected" (exit 5) counts as a failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/install.sh" --dev || exit $?
cd "$root" || exit 1
"$root/bin/venv-python" -m tests.services.provision || exit $?
"$root/bin/venv-python" -m pytest "$@"
status=$?
if ((status == 5)); then
  echo "[X] pytest collected no tests" >&2
  exit 1
fi
exit "$status"
