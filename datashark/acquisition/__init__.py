"""Event acquisition: syslog senders → rsyslog → Kafka (or files) → ``input = syslog``.

The acquisition layer is Debian's rsyslog, configured by ``datashark acquire`` from a small
conf (``acquire.conf``): it listens for syslog over UDP, TCP and TLS, wraps every message in a
JSON record (``record.py``) and hands it to Kafka through ``omkafka`` with a disk-assisted
queue, or to rotating files for a standalone run without a broker. The ``syslog`` input reads
those records back and gives ``load()`` what ``format = syslog`` gives it.
"""
