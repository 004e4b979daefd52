"""Checks on the synthesized output (new home of the tools/ checks, see the lead's package moves)."""
