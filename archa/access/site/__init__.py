"""The public site `archa publish` writes (archa/lifecycle/publish.py): its page templates
and assets (`*.html`, `*.js`, `*.css` here, read with importlib.resources) and its
client-side search index (`searchindex.py`)."""
