#!/usr/bin/env bash
# ./start.sh [-l|--local] [--timeout SECONDS] [-v]: every enabled use case in conf/, batch then
# streaming, submitted with the pyspark wheel's spark-submit to SPARK_INSTANCE (datashark-env.sh).
# With hdfs.host set in datashark.conf, data files and checkpoints are staged on HDFS for the run.
# On a cluster, Spark's traffic is authenticated and encrypted: a standalone master's secret comes
# from the file SPARK_AUTH_SECRET_FILE names (datashark-env.sh); without one, a warning says so.
exec "$(dirname "${BASH_SOURCE[0]}")/bin/datashark" run "$@"
