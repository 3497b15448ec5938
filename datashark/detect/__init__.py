"""The detection toolkit ``load()`` calls: per-entity measures in event-time windows, and sketches."""
