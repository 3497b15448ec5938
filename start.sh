#!/usr/bin/env bash
# ./start.sh [--local]: run every enabled use case in conf/ on SPARK_INSTANCE (datashark-env.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/bin/datashark" run "$@"
