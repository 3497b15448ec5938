# dataShark environment, sourced by start.sh and standalone.sh.

# Spark master for ./start.sh: a standalone cluster (spark://host:7077), yarn, or
# k8s://https://host:port (Spark's own --master values). Unset: local[*] on this machine.
# SPARK_INSTANCE="spark://127.0.0.1:7077"

# Java for Spark, when the default `java` is not 17 or newer.
# export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

# Memory of the driver (this machine) and of each executor; Spark's defaults are 1g each.
# The original asked for 2G and 4G.
# export SPARK_DRIVER_MEMORY=2g
# export SPARK_EXECUTOR_MEMORY=4g

# The Python executors run: by default this installation's (.venv/bin/python), which must then
# exist at the same path on every worker, with the same packages (install.sh there).
# export PYSPARK_PYTHON=/opt/datashark/.venv/bin/python
