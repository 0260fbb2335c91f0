"""archa: a long-term digital preservation repository (OAIS) built on OCFL, METS and PREMIS."""

__version__ = "0.1.0"
