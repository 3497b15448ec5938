"""Event acquisition: syslog senders → rsyslog → Kafka (or files) → ``input = syslog``.

The acquisition layer is Debian's rsyslog, configured by ``datashark acquire`` from a small
conf (``acquire.conf``, settings.py): it listens for syslog over UDP, TCP, TLS and RELP, wraps
every message in a JSON record (record.py) and hands it to Kafka through ``omkafka`` with a
disk-assisted queue, or to rotating files for a standalone run without a broker
(rsyslog_config.py, rotation.py). ``datashark acquire`` runs rsyslogd (daemon.py), makes the
topic stamp Kafka's time (topic.py) and sends again what Kafka did not take (undelivered.py).
The ``syslog`` input (input.py) reads those records back and gives ``load()`` what
``format = syslog`` gives it (reader.py), after the ``[in_syslog]`` selectors (selection.py).
"""
