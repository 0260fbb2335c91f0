"""The policy model, its loader and the bundled default policy (`default.toml`)."""

from archa.policies.model import IngestPolicy, FormatPolicy, Policy, load_policy

__all__ = ["IngestPolicy", "FormatPolicy", "Policy", "load_policy"]
