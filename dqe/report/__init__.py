"""What a run produces: the report model, its renderers, ``dqe diff``, rule docs, the gate
manifest and ``dqe filter``'s passed and rejected outputs."""
