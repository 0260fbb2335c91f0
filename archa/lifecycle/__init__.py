"""The records' lifecycle: new versions of AIPs, originators, legal holds, and the disposal
procedure with the state archive."""
