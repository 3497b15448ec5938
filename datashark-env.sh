# dataShark environment, sourced by start.sh and standalone.sh.

# Spark master for ./start.sh: a standalone cluster (spark://host:7077), yarn, or
# k8s://https://host:port (Spark's own --master values). Unset: local[*] on this machine.
# SPARK_INSTANCE="spark://127.0.0.1:7077"

# Java for Spark, when the default `java` is not 17 or newer.
# export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
