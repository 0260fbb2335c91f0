"""The policy model, its loader and the bundled default policy (`default.toml`)."""

from archa.policies.model import FormatPolicy, IngestPolicy, Policy, load_policy

__all__ = ["FormatPolicy", "IngestPolicy", "Policy", "load_policy"]
