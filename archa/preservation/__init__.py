"""Fixity audits, repair, placement, and format identification and risk."""
