#!/usr/bin/env bash
# ./standalone.sh [-d] CONF: run one use case on local Spark (its `enabled` key is ignored).
# -d prints the results instead of handing them to the output plugin.
exec "$(dirname "${BASH_SOURCE[0]}")/bin/datashark" standalone "$@"
