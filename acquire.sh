#!/usr/bin/env bash
# The event-acquisition layer: receives syslog over UDP, TCP and TLS with rsyslog and forwards
# it to Kafka, as acquire.conf says (docs/acquisition.md). Runs in the foreground until stopped.
#   ./acquire.sh [CONF] [--check]
exec "$(dirname "${BASH_SOURCE[0]}")/bin/datashark" acquire "$@"
