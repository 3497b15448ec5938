"""``datashark test``: regression tests of use cases, from the case files in ``conf/<uc>/tests/*.yml``.

``cases`` reads and checks the case files, ``findings`` compares what a run found with what a
case expects, ``runner`` runs every case on one local SparkContext (through the batch path, or the
streaming path with the events fed over several batches), and ``report`` prints PASS/FAIL lines.
"""
