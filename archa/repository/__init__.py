"""The archive itself: configuration, storage locations, OCFL objects and packed copies,
placement, the catalog, the event log, and the mechanisms the rooms above share (the copy
pipeline, safe extraction, the audit of one copy).

Imports nothing above it: only `archa.metadata`, `archa.policies` and `archa.errors` (the
layers contract in setup.cfg).
"""
