"""Access: DIP export and access copies (not yet implemented; see the open issues)."""
