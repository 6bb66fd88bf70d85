"""One job in its own process: `python -m engine.jobs.worker --db URL --run ID` (under `accelerate launch`
for more than one GPU; rank 0 writes the store).

SIGTERM: a training job stops at the next optimizer step with a checkpoint and is marked cancelled; other
jobs stop at once. An uncaught exception marks the run failed with the traceback and a hint.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import traceback
from pathlib import Path

from db.sink import StoreSink
from db.store import Store
from engine.config import from_dict
from engine.sink import FanoutSink, NullSink
from engine.train.loop import Cancelled

TRAIN_KINDS = ("teacher", "distill")


def hint_for(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if "out of memory" in text.lower():
        return "CUDA out of memory: lower train.batch_size (raise train.grad_accum to keep the effective batch) or use train.precision = 'bf16'"
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


def execute(store: Store, run_id: int, extra_sink=None) -> str:
    from engine.pipeline import TRAIN_DATA, load_train_file, run_evaluate, run_sample, run_train, trained_qids
    from engine.train.checkpoint import load_state
    from engine.train.loop import make_accelerator

    run = store.get_run(run_id)
    cfg = from_dict(run["config"])
    out = Path(run["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    acc = make_accelerator(cfg) if run["kind"] in TRAIN_KINDS else None
    main = acc is None or acc.is_main_process
    store_sink = StoreSink(store, run_id) if main else NullSink()
    sink = FanoutSink(store_sink, extra_sink) if (extra_sink is not None and main) else store_sink
    stop = {"requested": False}

    def on_term(signum, frame):
        stop["requested"] = True
        if main:
            store_sink.request_stop()
        if run["kind"] not in TRAIN_KINDS:
            raise Cancelled("terminated")
    signal.signal(signal.SIGTERM, on_term)
    if not main:
        sink.should_stop = lambda: stop["requested"]
    try:
        if run["kind"] == "sample":
            run_sample(cfg, out, sink)
        elif run["kind"] in TRAIN_KINDS:
            records = load_train_file(upstream_dir(store, run) / TRAIN_DATA)
            resume_from = None
            if run["resume"] and (out / "checkpoint").exists():
                resume_from = out / "checkpoint"
                if main:
                    store.truncate_after(run_id, load_state(resume_from)["counters"]["global_step"])
            run_train(cfg, out, sink, records, resume_from, acc)
        elif run["kind"] == "evaluate" and cfg.train.stage == "evaluate":  # a given checkpoint, no training
            run_evaluate(cfg, cfg.model.source, sink, output_dir=out)
        elif run["kind"] == "evaluate":
            trained_run = store.get_run(run["depends_on"])
            src = upstream_dir(store, run)
            model_dir = src / "best" if (src / "best").exists() else src / "checkpoint"
            trained = trained_qids(load_train_file(upstream_dir(store, trained_run) / TRAIN_DATA))
            run_evaluate(cfg, model_dir, sink, step=trained_run["step"], trained=trained, output_dir=out)
        status = "done"
    except (Cancelled, KeyboardInterrupt):
        status = "cancelled"
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the run row
        if main:
            store_sink.close()
            store.finish(run_id, "failed", error=traceback.format_exc()[-8000:], hint=hint_for(exc))
        raise
    if main:
        store_sink.close()
        store.finish(run_id, status)
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():  # DDP: leave together, or gloo/nccl threads abort at exit
        dist.barrier()
        dist.destroy_process_group()
    return status


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", type=int, required=True)
    args = ap.parse_args(argv)
    store = Store(args.db)
    if int(os.environ.get("RANK", "0")) == 0:
        store.update_run(args.run, pid=os.getpid())
    status = execute(store, args.run)
    print(f"run {args.run}: {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
