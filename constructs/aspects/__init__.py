"""Cross-cutting rules applied to whole stacks as CDKTF Aspects (tags, naming, security checks)."""
