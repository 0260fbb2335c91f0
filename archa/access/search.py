"""Full-text search over the OCR of digitised pages (the catalog's FTS5 index, `cat.pages_index`)."""

from __future__ import annotations

from archa.errors import UsageError
from archa.repository.pages import Found, search
from archa.repository.repo import Repository


def search_pages(repo: Repository, text: str, aip_id: str | None = None, limit: int = 20,
                 offset: int = 0) -> Found:
    """Pages whose OCR text holds every word of `text` (diacritics folded; `word*` a prefix),
    in the head version of each AIP (or of `aip_id` alone), best match first (in catalog
    order when more than pages.RANK_LIMIT match).
    UsageError for no words or an AIP archa does not hold."""
    if not text.split():
        raise UsageError("give at least one word to search for", hint='e.g. archa search "obecní kronika"')
    if aip_id is not None:
        repo.catalog.aip(aip_id)  # NotFoundError names it
    return search(repo.catalog, text, aip_id, limit, offset)
