"""Generators of the committed docs: handbooks, DR runbooks, the evidence matrix, diagrams."""
