"""dqe-judge: LLM-as-a-judge scoring of SFT records against an OpenAI-compatible endpoint (JDG001)."""

__version__ = "0.1.0"
