"""Checks over the synthesized output, the workflows and the reference data."""
