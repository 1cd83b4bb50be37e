"""Talking to a language model behind an OpenAI-compatible endpoint: the one client dqe has
(the judge plugin and ``dqe augment`` both use it, through the ``dqe`` namespace)."""
