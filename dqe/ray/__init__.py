"""``--engine ray``: the record stage of a check on a Ray cluster (the ``[ray]`` extra).

Only this package imports Ray, and only when a run asks for it: ``dqe --help`` and the local
engine never load it. See docs/ray.md for what runs where and what is not distributed yet.
"""
