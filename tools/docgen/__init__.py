"""Generated documentation and artefacts (the lead moves handbook, dr_runbook, evidence_matrix, diagram here)."""
