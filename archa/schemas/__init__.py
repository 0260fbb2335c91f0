"""Offline XSDs (METS 1.12.1, PREMIS 3.0, xlink) used to validate what archa writes."""
