"""``dqe train``: LoRA fine-tuning on exactly the records that passed the gate.

Needs the ``[train]`` extra (torch, transformers, peft). Importing this package is cheap and
imports no torch; ``dqe.train.run.train`` is the entry point the CLI calls.
"""
