"""The kinds and statuses of a run, spelled once (the CHECK constraints, the CLI's choices and every filter
read them). No SQLAlchemy here: the CLI declares its options from these before it opens a store."""

RUN_KINDS = ("sample", "teacher", "distill", "evaluate")
TRAINING_KINDS = ("teacher", "distill")        # the kinds that train (on every GPU they are given)
RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
LIVE = ("queued", "running")                   # a worker will still write
UNFINISHED = ("failed", "lost", "cancelled")   # ended without finishing: a run that depends on one never starts
RESUMABLE = UNFINISHED                         # what `resume` queues again
ENDED = ("done", *UNFINISHED)                  # no worker will write again
# a run's cost totals over its attempts, the cost columns of v_runs (0008_run_cost): constants here, so that
# the CLI's --help and list keys need no SQLAlchemy import
COST_TOTALS = ("wall_s", "device_s", "featurize_s", "teacher_s", "train_s", "eval_s", "peak_device_gb",
               "peak_host_gb", "train_features", "optimizer_steps", "cost_attempts")
PROGRESS_ORDER = ("done", "running", "queued", "failed", "lost", "cancelled")  # how a sweep's progress reads

# Alerts: what needs the user, by kind, each with its one level (the alert table's CHECK constraints, the CLI's
# choices, the dashboard's badges and the notifier's level filter read these)
ALERT_LEVELS = ("info", "warning", "error")   # in rising order
ALERT_KINDS = {
    "loss_nonfinite": "error",    # the training loss became NaN or inf: the run stopped
    "heartbeat_stale": "warning", # no heartbeat for a while: the worker may be hung (it is marked lost later)
    "run_lost": "error",          # the worker is gone or silent past the limit: the run was marked lost
    "run_failed": "error",        # the run ended failed
    "coef_collapse": "warning",   # the mAP@k coefficient's window mean stayed under alerts.coef_floor
    "run_done": "info",           # the run finished
    "sweep_done": "info",         # the last live run of a sweep ended
}
