"""What output plugins share: result documents, Elasticsearch bulk writes, the syslog wire
format, and text files on the local disk or HDFS."""
