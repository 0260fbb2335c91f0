"""The metadata archa writes and reads: METS, PREMIS and Dublin Core of AIPs (streamed), the
records they describe (`records.py`: FileRow, Event, which the catalog stores), the NSESSS
names archa's own packages use (`nsesss.py`), and the safe parsing and offline schemas for
producers' XML. Below the repository: imports only `archa.errors`."""
