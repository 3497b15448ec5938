"""Bringing a user's code in: importing files, finding plugins by name, calling ``load()``."""
