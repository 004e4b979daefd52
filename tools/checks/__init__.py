"""Checks over the synthesized output and the repository (the lead moves the existing checkers here)."""
