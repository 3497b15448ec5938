# dataShark environment, sourced by start.sh and standalone.sh.

# Spark master for ./start.sh: a standalone cluster (spark://host:7077), yarn, or
# k8s://https://host:port (Spark's own --master values). Unset: local[*] on this machine.
# SPARK_INSTANCE="spark://127.0.0.1:7077"

# Cluster traffic. Tasks carry the outputs' and Kafka's credentials, so on a cluster the driver,
# the executors and the daemons authenticate each other and encrypt what they send
# (spark.authenticate, spark.network.crypto.enabled). YARN and Kubernetes make a secret per
# application: nothing to set. A standalone cluster (spark://) shares one secret, given to its
# master and every worker when they start, e.g. in a 0600 file passed with --properties-file
# (or their spark-defaults.conf), never on a command line, which `ps` shows to every user:
#   spark.authenticate true
#   spark.network.crypto.enabled true
#   spark.authenticate.secret <the secret, e.g. from: openssl rand -base64 32>
# Name here a file holding the same secret on one line, owned by the user running dataShark,
# mode 0600 (anything else stops start.sh with a one-line error). start.sh hands it to the
# driver in a 0600 file of its own for the moment Spark starts. Unset with a spark:// master,
# start.sh warns that cluster traffic is unauthenticated; a cluster that requires the secret
# refuses a driver without it (start.sh says so after Spark's ~60 s of retries).
# export SPARK_AUTH_SECRET_FILE=/etc/datashark/spark-cluster.secret

# The driver's web UI (port 4040 and up) has no login and shows the run's configuration and
# data samples; on a cluster start.sh turns it off unless this is true. Local mode keeps it,
# on 127.0.0.1.
# export DATASHARK_SPARK_UI=true

# The address of this machine the driver binds and gives executors to reach it (its UI too);
# set it when the machine has several, or the executors must use one network. Unset: 127.0.0.1
# in local mode; on a cluster, Spark's choice (the address this host's name resolves to).
# export SPARK_LOCAL_IP=10.0.0.5

# Java for Spark, when the default `java` is not 17 or newer.
# export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64

# Memory of the driver (this machine) and of each executor; Spark's defaults are 1g each.
# The original asked for 2G and 4G.
# export SPARK_DRIVER_MEMORY=2g
# export SPARK_EXECUTOR_MEMORY=4g

# The Python executors run: by default this installation's (.venv/bin/python), which must then
# exist at the same path on every worker, with the same packages (install.sh there).
# export PYSPARK_PYTHON=/opt/datashark/.venv/bin/python
