"""``dqe augment``: grow the task categories a data set lacks with records a model writes, each
screened by every enabled rule and the duplicate check before it is kept (docs/augment.md)."""
