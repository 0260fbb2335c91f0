"""The names of the Czech national rule set for ERMS packages (NSESSS) that archa's own
packages use: the namespaces of its generations and the LABELs of the SIPs it makes for the
disposal procedure. Here, below every room that reads or writes NSESSS packages (the
transfer's checker, the disposal SIPs, DIP titles); the rule set itself is
archa/transfer/nsesss/."""

from __future__ import annotations

METS = "http://www.loc.gov/METS/"
NSESSS = {4: "http://www.mvcr.cz/nsesss/v4", 3: "http://www.mvcr.cz/nsesss/v3"}
GENERATIONS = {ns: v for v, ns in NSESSS.items()}  # namespace -> generation (4 or 3)
LABEL_REVIEW = "Datový balíček pro provedení skartačního řízení"
LABEL_TRANSFER = "Datový balíček pro předávání dokumentů a jejich metadat do archivu"
