"""Fixity audits (which copies are due, recording what they found, the copies the placement
policy lacks), repair, format identification (Siegfried, fido) and PDF/A checks, the format
profile and re-identification, and the overview and report of the holdings."""
