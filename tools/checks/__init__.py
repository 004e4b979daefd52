"""Offline checks on the synthesized output: deployability, reference data, checkov, secrets, parity, addresses."""
