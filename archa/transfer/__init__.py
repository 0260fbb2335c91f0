"""Transfers: turning what producers send (folders, Czech ERMS/NSESSS packages, E-ARK SIPs,
the drop folder) into BagIt bags, and checking it on the way. `archa.ingest` takes the bags;
`direct.py` bags a transfer straight into the repository (the transfer calls ingest)."""
