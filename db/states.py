"""The kinds and statuses of a run, spelled once (the CHECK constraints, the CLI's choices and every filter
read them). No SQLAlchemy here: the CLI declares its options from these before it opens a store."""

RUN_KINDS = ("sample", "teacher", "distill", "evaluate")
RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
LIVE = ("queued", "running")                   # a worker will still write
RESUMABLE = ("failed", "lost", "cancelled")    # what `resume` queues again
