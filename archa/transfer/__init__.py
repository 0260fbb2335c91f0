"""Transfers: turning what producers send (folders, Czech ERMS/NSESSS packages, E-ARK SIPs,
the drop folder) into BagIt bags, and checking it on the way. `archa.ingest` takes the bags."""
