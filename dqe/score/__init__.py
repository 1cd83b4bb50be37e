"""``dqe score``: the answer's perplexity with and without its question, and IFD, per record,
under the base model and the trainer's own encoding (the [train] extra: torch only here and in
``dqe.train`` / ``dqe.eval``)."""
