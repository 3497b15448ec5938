"""Events on their way to ``load()`` and rows on their way out: parsing, the log filter, row
checks, and the dead letters of both."""
