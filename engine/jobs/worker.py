"""One job in its own process: `python -m engine.jobs.worker --db URL --run ID [--attempt N]` (under
`accelerate launch` for more than one GPU; rank 0 writes the store).

The worker claims its run atomically before anything else: started by the scheduler it binds the attempt
the scheduler claimed (`--attempt`); started by hand or by another executor it claims the queued run
itself. A second process for the same run is refused (exit 3).

SIGTERM (`cancel`): every stage stops at its next batch; training writes a checkpoint first; the run ends
`cancelled`. An uncaught exception marks the run failed with the traceback and a hint. Every start
truncates the run's rows to the point it resumes from (its newest complete checkpoint, or nothing), so a
killed and resumed run holds the rows of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path

from db.states import TRAINING_KINDS
from db.store import RunTakenOver, Store
from engine import cancel as cancellation
from engine.cancel import Cancelled
from engine.jobs.store_sink import StoreSink
from engine.sink import FanoutSink, LogSink, NullSink


# set in cluster jobs (engine.jobs.slurm_job): a stop no `cancel` asked for (time limit, preemption, a bare
# scancel) hands the run back, resumable, instead of ending it cancelled
HAND_BACK = os.environ.get("XLQA_HAND_BACK", "") == "1"
EXIT_REFUSED = 3
EXIT_HANDED_BACK = 75  # checkpointed and handed back to its cluster job, which requeues (EX_TEMPFAIL)
log = logging.getLogger("xlqa.worker")


def non_finite(exc: BaseException) -> bool:
    """A NaN or inf loss (only training raises it, so a job that never imported training never has one)."""
    loop = sys.modules.get("engine.train.loop")
    return loop is not None and isinstance(exc, loop.NonFiniteLoss)


def hint_for(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if non_finite(exc):
        return ("lower train.learning_rate, raise train.warmup_ratio or distill.temperature, clip gradients "
                "(train.max_grad_norm) or train in fp32/bf16 rather than fp16; then launch again")
    if "out of memory" in text.lower():
        import torch  # bf16 only where the GPU has it (pre-Ampere GPUs do not)
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return ("CUDA out of memory: lower train.batch_size (raise train.grad_accum to keep the effective batch)"
                + (" or use train.precision = 'bf16'" if bf16 else ""))
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full: free space under output_dir or point output_dir elsewhere"
    if isinstance(exc, (FileNotFoundError,)) or "DataError" in type(exc).__name__ or "no such file" in text.lower():
        return "a data path in the config is wrong: check data.train, eval.data_dir and model.init_from"
    if isinstance(exc, OSError) and ("huggingface" in text.lower() or "hub" in text.lower() or "connect" in text.lower()):
        return "the model or dataset hub is unreachable: use a local path (model.name / data.train) or tiny-bert"
    return "see the error above; fix the config and `xlqa-run resume RUN` (or launch again)"


def upstream_dir(store: Store, run: dict) -> Path:
    dep = store.get_run(run["depends_on"]) if run["depends_on"] else None
    if dep is None:
        raise RuntimeError(f"run {run['id']} ({run['kind']}) needs the run it depends on, which is gone")
    return Path(dep["output_dir"])


def execute(store: Store, run_id: int, attempt: int | None = None, extra_sink=None, store_sink=None) -> str:
    """Run one claimed job in this process; returns its final status (done, cancelled, failed)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # in a cluster job, SIGUSR2 is the time-limit or preemption warning: stop as for SIGTERM
        for sig in (signal.SIGTERM, signal.SIGUSR2) if HAND_BACK else (signal.SIGTERM,):
            previous[sig] = signal.signal(sig, lambda signum, _frame: cancellation.request())
    cancellation.reset()
    try:
        return _execute(store, run_id, attempt, extra_sink, store_sink)
    finally:
        cancellation.reset()
        for sig, handler in previous.items():  # a foreground run, a demo or a test must get them back as they were
            signal.signal(sig, handler)


def _execute(store: Store, run_id: int, attempt: int | None, extra_sink, store_sink) -> str:
    from engine.config import from_dict
    from engine.data.hub import forget_reads
    from engine.jobs import notify
    from engine.jobs.provenance import with_sources_read
    from engine.jobs.watch import CoefCollapseWatch
    from engine.pipeline import (TRAIN_DATA, load_train_file, run_evaluate, run_sample, run_train, scored_checkpoint,
                                 trained_qids)
    notify.attach(store)
    run = store.get_run(run_id)
    cfg = from_dict(run["config"])
    out = Path(run["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    trains = run["kind"] in TRAINING_KINDS
    if trains:  # torch only where a model is: a sample job starts in a fraction of the time
        from engine.train.checkpoint import latest_checkpoint, resume_point
        from engine.train.loop import make_accelerator
    acc = make_accelerator(cfg) if trains else None
    main = acc is None or acc.is_main_process
    if main and store_sink is None:
        store_sink = StoreSink(store, run_id, attempt=attempt)
    watch = CoefCollapseWatch(store_sink.raise_alert, cfg.alerts.coef_floor, cfg.alerts.coef_windows,
                              cfg.distill.coefficient) if main else None
    sink = FanoutSink(store_sink, LogSink(), watch, extra_sink) if main else NullSink()
    monitor = None
    if main:
        from engine.jobs.sysmon import SystemMonitor
        monitor = SystemMonitor(lambda step, key, ctx, value: store_sink.log_metrics(step, {key: value}, ctx),
                                run["created_at"]).start()
    if main and os.environ.get("SLURM_JOB_ID"):  # where it runs, for `xlqa-run logs`
        log.info("run %d in Slurm job %s, node %s of %s (%s)", run_id, os.environ["SLURM_JOB_ID"],
                 os.environ.get("SLURM_NODEID", "?"), os.environ.get("SLURM_NNODES", "?"),
                 os.environ.get("SLURM_JOB_NODELIST", "?"))
    try:
        checkpoint = latest_checkpoint(out) if trains else None
        done = {}
        if main and run["kind"] == "evaluate":  # finished cells stay; the rest is written again
            done = store.keep_finished_cells(run_id, attempt=attempt)
            log.info("run %d (evaluate) attempt %s: %s", run_id, attempt,
                     f"{len(done)} cells already scored" if done else "starting")
        elif main:
            if trains:
                point = resume_point(checkpoint)
                store.truncate_to(run_id, point.step, point.generation, attempt=attempt)
            else:  # a sample run starts over
                store.truncate_to(run_id, attempt=attempt)
            log.info("run %d (%s) attempt %s: %s", run_id, run["kind"], attempt,
                     f"resuming from {checkpoint.name}" if checkpoint else "starting")
        forget_reads()
        if run["kind"] == "sample":
            run_sample(cfg, out, sink)
        elif run["kind"] in TRAINING_KINDS:
            records = load_train_file(upstream_dir(store, run) / TRAIN_DATA)
            versions = with_sources_read(run["versions"], store.get_run(run["depends_on"])["versions"])
            if main and versions != run["versions"]:  # the hub commits its sample run read, in the model folders too
                store.update_run(run_id, versions=versions)
            provenance = {"run_id": run_id, "experiment_id": run["experiment_id"], "experiment": run["experiment"],
                          "kind": run["kind"], "git_commit": run["git_commit"], "versions": versions}
            run_train(cfg, out, sink, records, checkpoint, acc, provenance)
        elif run["kind"] == "evaluate" and cfg.train.stage == "evaluate":  # a given checkpoint, no training
            run_evaluate(cfg, cfg.model.source, sink, output_dir=out, done=done)
        elif run["kind"] == "evaluate":
            trained_run = store.get_run(run["depends_on"])
            src = upstream_dir(store, run)
            model_dir = scored_checkpoint(cfg, src)
            trained = trained_qids(load_train_file(upstream_dir(store, trained_run) / TRAIN_DATA))
            run_evaluate(cfg, model_dir, sink, step=trained_run["step"], trained=trained, output_dir=out, done=done)
        if main and run["kind"] not in TRAINING_KINDS and with_sources_read(run["versions"]) != run["versions"]:
            store.update_run(run_id, versions=with_sources_read(run["versions"]))  # the hub commits it read
        status = "done"
    except (Cancelled, KeyboardInterrupt):
        status = "cancelled"
    except RunTakenOver:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the run row
        if monitor is not None:
            monitor.stop()
        if main:
            log.error("run %d failed: %s", run_id, exc)
            _close(store_sink)
            store.finish(run_id, "failed", error=traceback.format_exc()[-8000:], hint=hint_for(exc), attempt=attempt,
                         alert="loss_nonfinite" if non_finite(exc) else True)
        raise
    if monitor is not None:
        monitor.stop()
    if main:
        _close(store_sink)
        if status == "cancelled" and HAND_BACK and not store.get_run(run_id)["cancel_requested"]:
            status = "handed back" if store.hand_back(run_id, attempt) else status
        if status != "handed back":
            store.finish(run_id, status, attempt=attempt)
        log.info("run %d: %s", run_id, status)
    dist = sys.modules.get("torch.distributed")  # imported by training only
    if dist is not None and dist.is_available() and dist.is_initialized():  # DDP: leave together, or gloo/nccl threads abort at exit
        dist.barrier()
        dist.destroy_process_group()
    return status


def _close(store_sink) -> None:
    try:
        store_sink.close()
    except RunTakenOver:
        raise
    except Exception as e:  # the rows are lost only if the store stays unreachable through every retry
        log.error("could not write the last rows to the store: %s", e)


def log_formatter() -> logging.Formatter:
    """The one format of a worker.log line, wherever the run executes (a worker, the foreground, a pipe)."""
    return logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")


def configure_logging(stream=None, path: Path | None = None) -> None:
    """Progress lines (stage, epoch, step, loss, ETA, evaluation) to the worker log."""
    handler = logging.StreamHandler(stream or sys.stdout) if path is None else logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(log_formatter())
    root = logging.getLogger("xlqa")
    root.setLevel(logging.INFO)
    root.addHandler(handler)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", type=int, required=True)
    ap.add_argument("--attempt", type=int, default=None, help="the attempt the scheduler claimed (else: claim the queued run)")
    args = ap.parse_args(argv)
    configure_logging()
    if os.environ.get("XLQA_WORKER_LOG"):  # a cluster job: its progress lines also go where `xlqa-run logs` reads
        configure_logging(path=Path(os.environ["XLQA_WORKER_LOG"]))
    store = Store(args.db)
    rank0 = int(os.environ.get("RANK", "0")) == 0
    attempt, store_sink = args.attempt, None
    if rank0:
        host = socket.gethostname()
        if attempt is None:
            attempt = store.claim(args.run, host=host)
            if attempt is None:
                run = store.get_run(args.run)
                print(f"run {args.run} is {run['status'] if run else 'not in this database'}: another executor "
                      "has it, or it is not queued; nothing to do", file=sys.stderr)
                return EXIT_REFUSED
        # under a DDP launcher each rank has a session of its own (torch elastic): the group to signal is the
        # launcher's, which forwards SIGTERM to every rank
        launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
        pgid = os.getpgid(os.getppid() if launched else 0) if os.environ.get("XLQA_DETACHED") else None
        if not store.bind_worker(args.run, attempt, os.getpid(), host, pgid):
            print(f"run {args.run}, attempt {attempt}: already taken by another process, or no longer running; "
                  "this worker exits", file=sys.stderr)
            return EXIT_REFUSED
        store_sink = StoreSink(store, args.run, attempt=attempt)  # heartbeats from here on, before heavy imports
    status = execute(store, args.run, attempt, store_sink=store_sink)
    print(f"run {args.run}: {status}", flush=True)
    return EXIT_HANDED_BACK if status == "handed back" else 0


if __name__ == "__main__":
    sys.exit(main())
