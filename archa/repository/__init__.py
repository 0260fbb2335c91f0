"""The archive itself: configuration, storage locations, OCFL objects, the catalog, the event log.

Imports none of `archa.ingest`, `archa.preservation`, `archa.access`.
"""
