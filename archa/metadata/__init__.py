"""The metadata archa writes and reads: METS, PREMIS and Dublin Core of AIPs (streamed),
and the safe parsing and offline schemas for producers' XML. Used by ingest, AIP updates,
access and catalog rebuild."""
