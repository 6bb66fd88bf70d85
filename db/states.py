"""The kinds and statuses of a run, spelled once (the CHECK constraints, the CLI's choices and every filter
read them). No SQLAlchemy here: the CLI declares its options from these before it opens a store."""

RUN_KINDS = ("sample", "teacher", "distill", "evaluate")
TRAINING_KINDS = ("teacher", "distill")        # the kinds that train (on every GPU they are given)
RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
LIVE = ("queued", "running")                   # a worker will still write
UNFINISHED = ("failed", "lost", "cancelled")   # ended without finishing: a run that depends on one never starts
RESUMABLE = UNFINISHED                         # what `resume` queues again
ENDED = ("done", *UNFINISHED)                  # no worker will write again
PROGRESS_ORDER = ("done", "running", "queued", "failed", "lost", "cancelled")  # how a sweep's progress reads
