"""Lookups: reference data a use case names in its conf (asset inventories, allowlists,
watchlists), read on the driver, broadcast, refreshed while a stream runs, and handed to
``load()`` as its ``lookups`` parameter.

``conf`` reads the ``[lookups]`` section; ``files`` and ``elasticsearch`` read one lookup's
source; ``shape`` turns what was read into the value ``load()`` gets; ``live`` keeps the values
of a running use case and gives ``load()`` its ``Lookups``.
"""
