"""DQ401 exact-duplicate as Ray Data operations on the run's shards, off the driver.

Records are partitioned by the hash of their normalized text (a ``groupby`` on the hash modulo
the partitions, ``map_groups``: every copy of a text lands in one partition, however the shards
were cut). Each partition keeps, of each text, the first record in the local rule's order of
preference (not rejected by a record rule, highest quality, first seen:
``dqe.rules.duplicates.preference`` and ``exact_keep``, the rule's own functions) and gives back
only the records it removes, with the ``_file`` and ``_line`` of the record kept, its counts, and
its largest clusters. The driver merges those (a top-k of the partitions' top-k: clusters never
span partitions) and words them with the rule's own methods, so the findings and the
``duplicates`` section are the local rule's.
"""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dqe.engine.rule import DatasetResult
from dqe.ray.shards import first_of, shard, shards
from dqe.rules.duplicates import EXAMPLES_PER_CLUSTER, LARGEST_CLUSTERS, ExactDuplicate, exact_keep, preference

COLUMNS = ["_idx", "_file", "_line", "_id", "text_hash", "text_preview", "quality"]
PARTITIONS_PER_CPU = 2
READ_CPUS = 0.2
RESULT_SCHEMA = pa.schema([("part", pa.uint32()), ("result", pa.binary())])


def marked(folder: str, first: int, partitions: int) -> pa.Table:
    """The columns DQ401 needs of the shard whose first record is ``first``, with ``rejected``
    (by a record rule: an error among the shard's findings) and ``_part``, the partition of each
    record's text."""
    block = pq.read_table(shard(folder, "kept", first), columns=COLUMNS)
    findings = pq.read_table(shard(folder, "findings", first), columns=["_idx", "severity"])
    errors = findings.filter(pc.equal(findings.column("severity"), "error")).column("_idx")
    hit = pc.is_in(block.column("_idx"), value_set=errors).to_numpy(zero_copy_only=False)
    part = block.column("text_hash").to_numpy() % np.uint64(partitions)
    return block.append_column("rejected", pa.array(hit)).append_column("_part", pa.array(part.astype(np.uint32)))


def partition(block: pa.Table) -> pa.Table:
    """One partition's removed records and largest clusters, pickled in one row."""
    table = pl.from_arrow(block)
    assert isinstance(table, pl.DataFrame)
    n = table.height
    order = preference(table)
    kept = exact_keep(table["text_hash"].to_numpy(), order)
    rows = np.flatnonzero(kept != np.arange(n))
    files, lines, idx = table["_file"].to_numpy(), table["_line"].to_numpy(), table["_idx"].to_numpy()
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    sizes = np.bincount(kept, minlength=n)
    multi = np.flatnonzero(sizes > 1)
    largest = multi[np.lexsort((rank[multi], -sizes[multi]))][:LARGEST_CLUSTERS]
    members = np.flatnonzero(np.isin(kept, largest))
    members = members[np.argsort(rank[members], kind="stable")]
    rejected, quality = table["rejected"].to_numpy(), table["quality"].to_numpy()
    clusters = [
        (  # the order of preference of the head, across partitions: as ``preference`` sorts
            (-int(sizes[head]), bool(rejected[head]), -float(quality[head]), int(idx[head])),
            table["_id"][int(head)],
            [(int(files[m]), int(lines[m]), table["text_preview"][int(m)]) for m in shown],
        )
        for head in largest
        for shown in [members[kept[members] == head][:EXAMPLES_PER_CLUSTER]]
    ]
    found = (idx[rows], files[kept[rows]], lines[kept[rows]], n, int(multi.size), clusters)
    part = int(table["_part"][0]) if n else 0
    return pa.table({"part": [part], "result": [pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)]}, RESULT_SCHEMA)


def exact_duplicates(rule: ExactDuplicate, folder: str, cpus: int) -> DatasetResult:
    """What DQ401's ``evaluate`` gives on the shards in ``folder`` (what the record rules
    rejected read from the findings' shards), found by a group-by on the cluster."""
    import ray
    import ray.data

    partitions = max(1, cpus * PARTITIONS_PER_CPU)
    # a read task per shard (Ray's read_parquet would resolve file systems through fsspec's optional ones)
    read = ray.remote(marked).options(num_cpus=READ_CPUS, max_retries=0)
    blocks = [read.remote(folder, first_of(path), partitions) for path in shards(folder, "kept")]
    # as many shuffle partitions as groups: Ray Data's default (200) hashes the few groups into
    # mostly empty partitions, each with its own tasks
    grouped = ray.data.from_arrow_refs(blocks).groupby("_part", num_partitions=partitions)
    grouped = grouped.map_groups(partition, batch_format="pyarrow")
    idx, files, lines, clusters = [], [], [], []
    n = exact = multi = 0
    for row in grouped.iter_rows():
        removed, kept_files, kept_lines, height, count, largest = pickle.loads(row["result"])
        idx.append(removed)
        files.append(kept_files)
        lines.append(kept_lines)
        n, exact, multi = n + height, exact + removed.size, multi + count
        clusters.extend(largest)
    if n == 0:
        return DatasetResult()
    order = np.argsort(np.concatenate(idx))
    failed = rule.failures(*(np.concatenate(part)[order] for part in (idx, files, lines)))
    largest = [
        {
            "id": head_id,
            "size": -key[0],
            "examples": [
                {"source": source, "text": text}
                for source, (_, _, text) in zip(
                    rule.context.sources([f for f, _, _ in shown], [line for _, line, _ in shown]), shown, strict=True
                )
            ],
        }
        for key, head_id, shown in sorted(clusters, key=lambda c: c[0])[:LARGEST_CLUSTERS]
    ]
    return DatasetResult(failed=failed, metrics=rule.section(n, exact, None, multi, largest))
