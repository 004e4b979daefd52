"""Maintenance: reference-data refresh, benchmark, workflow matrix, runner image build command."""
