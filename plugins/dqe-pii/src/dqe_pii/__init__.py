"""dqe-pii: dqe rules that find personal data and secrets in SFT data (PII001-PII006)."""

__version__ = "0.1.0"
