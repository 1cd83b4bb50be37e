"""Reading and writing: inputs resolved into files, containers and encodings, record formats,
batches of records, and the files dqe writes (atomically, all or none)."""
