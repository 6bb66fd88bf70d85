"""The training loop of both stages: plain PyTorch, with devices, precision and DDP through accelerate.

One optimizer step = grad_accum micro-batches of batch_size examples on each process. At an epoch end
(`train.epoch_tail`): `step` steps the last, shorter group; `carry` (the paper's code) leaves the 1 to
grad_accum - 1 micro-batches left over unstepped, so their gradients join the next epoch's first step and
are never applied after the last epoch, and an epoch has floor(micro-batches / grad_accum) steps.

Per-epoch shuffling comes from a generator seeded by (seed, epoch), and each process takes its slice of
every global micro-batch, so a resumed or multi-process run sees the same examples in the same order.
Losses and window statistics stay on the device between logging steps (no host syncs in the step); where a
window's means reach the host, a NaN or inf loss stops the run (NonFiniteLoss) before anything is logged.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from engine import cancel as cancellation
from engine.cancel import Cancelled
from engine.config import ExperimentConfig
from engine.cost import CostMeter
from engine.evaluate import decoding, eval_autocast, evaluate_suite
from engine.features import QAFeatures
from engine.losses import step_loss
from engine.scoring.summary import format_summary, summarize
from engine.sink import MetricSink, NullSink
from engine.train.checkpoint import (LINK, load_state, promote_best, publish, rank_rng_state, rng_state,
                                     set_rng_state, write_partial)
from engine.train.optim import LegacyAdamW
from engine.train.teacher_cache import TeacherCache, compute_teacher, masked_logits

log = logging.getLogger("xlqa.train")
__all__ = ["Cancelled", "NonFiniteLoss", "TrainResult", "make_accelerator", "train"]


class NonFiniteLoss(FloatingPointError):
    """The loss of a logging window is NaN or inf: training on would only write NaN weights and rows."""


@dataclass
class TrainResult:
    global_step: int
    best_score: float
    best_dir: Path | None
    last_dir: Path


def make_accelerator(cfg: ExperimentConfig, cpu: bool | None = None):
    from accelerate import Accelerator
    cuda = torch.cuda.is_available() and not cpu
    precision = cfg.train.precision if cuda else "no"  # AMP is a CUDA feature here; CPU runs float32
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"train.precision = 'bf16': {torch.cuda.get_device_name()} has no bf16; use tf32 "
                         "(Ampere and newer) or fp16")
    if cuda:
        # tf32: fp32 storage and TF32 matmuls (about 7x IEEE fp32 on an H100/H200); else IEEE fp32 matmuls
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    if cfg.train.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # the worker's env sets it before CUDA starts
        torch.use_deterministic_algorithms(True)
    return Accelerator(cpu=not cuda, mixed_precision="no" if precision == "tf32" else precision)


def _optimizer(model, cfg, fused: bool = False):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.train.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.train.optimizer == "adamw-legacy":
        return LegacyAdamW(groups, lr=cfg.train.learning_rate)
    # fused on CUDA: one kernel for the whole update instead of a few per parameter tensor
    return torch.optim.AdamW(groups, lr=cfg.train.learning_rate, fused=fused or None)


def steps_per_epoch(micro_per_epoch: int, grad_accum: int, epoch_tail: str) -> int:
    """Optimizer steps of one epoch: the official t_total is len(dataloader) // accumulation * epochs."""
    return micro_per_epoch // grad_accum if epoch_tail == "carry" else math.ceil(micro_per_epoch / grad_accum)


def micro_batches(n: int, batch_size: int, world: int) -> tuple[int, int]:
    """Global micro-batches of an epoch, and the features left out of it. A last global batch smaller than
    the world would leave some rank an empty slice: that rank would skip a step the others run (their
    collectives then wait forever), so that batch is dropped on every rank."""
    tail = n % (batch_size * world)
    if world > 1 and 0 < tail < world:
        return n // (batch_size * world), tail
    return math.ceil(n / (batch_size * world)), 0


def stop_requested(acc, sink, device) -> bool:
    """Stop or cancel, decided by all ranks together: only rank 0 reads the store, and a signal may reach
    one rank first. A rank that stopped alone would wait at the checkpoint barrier while the others enter
    the next gradient all-reduce. Called once per optimizer step, right after the step's all-reduce."""
    stop = sink.should_stop() or cancellation.requested()
    if acc.num_processes == 1:
        return stop
    flag = torch.tensor([1.0 if stop else 0.0], device=device)
    return bool(acc.reduce(flag, reduction="sum").item() > 0)  # the one host sync per step under DDP


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1000 + epoch)
    return torch.randperm(n, generator=g)


def train(cfg: ExperimentConfig, model, tokenizer, feats: QAFeatures, output_dir: Path, *,
          feature_pairs: list[str] | None = None, dev_records=None, sink: MetricSink | None = None,
          resume_from: Path | None = None, accelerator=None, cost: CostMeter | None = None) -> TrainResult:
    """Train `model` on `feats`. feature_pairs: 'q-c' language pair of each feature (for per-pair stats).
    cost: the run's meter; training, teacher passes and dev evaluations are each timed in their own stage."""
    sink = sink or NullSink()
    tc, dc = cfg.train, cfg.distill
    output_dir = Path(output_dir)
    acc = accelerator or make_accelerator(cfg)
    main = acc.is_main_process
    torch.manual_seed(tc.seed)
    world, rank = acc.num_processes, acc.process_index
    micro_per_epoch, dropped_tail = micro_batches(len(feats), tc.batch_size, world)
    per_epoch = steps_per_epoch(micro_per_epoch, tc.grad_accum, tc.epoch_tail)
    total_steps = per_epoch * tc.epochs
    if tc.max_steps:
        total_steps = min(total_steps, tc.max_steps)

    optimizer = _optimizer(model, cfg, fused=acc.device.type == "cuda")
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tc.warmup_ratio * total_steps), total_steps)
    counters = {"epoch": 0, "micro_in_epoch": 0, "global_step": 0, "best": -1.0}
    teacher_state = window_state = None
    if resume_from is not None:
        from transformers import AutoModelForQuestionAnswering
        state = load_state(resume_from)
        model.load_state_dict(AutoModelForQuestionAnswering.from_pretrained(resume_from).state_dict())
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(rank_rng_state(state, rank))
        counters = state["counters"]
        teacher_state, window_state = state["teacher"], state.get("window")
        if state.get("grads") is not None:  # a carried epoch tail
            for p, g in zip(model.parameters(), state["grads"]):
                p.grad = None if g is None else g.to(p.device)
        log.info("resuming from %s: epoch %d, step %d", resume_from, counters["epoch"], counters["global_step"])
    model, optimizer = acc.prepare(model, optimizer)  # the scheduler steps by hand on optimizer steps only
    if resume_from is not None:
        # after prepare: the moments follow the parameters' device and AdamW's step counters stay on the
        # CPU (loaded before, prepare moves them to the GPU, and each step then syncs on every counter)
        optimizer.load_state_dict(state["optimizer"])
        if acc.scaler is not None and state.get("scaler"):
            acc.scaler.load_state_dict(state["scaler"])
    device = acc.device
    distill = tc.stage == "distill" and dc.a_kl > 0  # a_kl = 0: CE on the sampled data, no teacher needed
    autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(acc.mixed_precision)
    teacher: TeacherCache | None = TeacherCache.from_state(teacher_state, device) if teacher_state else None
    best_dir, last_dir = None, output_dir / LINK
    if (output_dir / "best").exists():
        best_dir = output_dir / "best"

    def evaluate_dev(step):
        if dev_records is None or not main:
            return
        with cost.stage("evaluate"):
            _evaluate_dev(step)

    def _evaluate_dev(step):
        nonlocal best_dir
        log.info("dev evaluation (%s) at step %d: %d questions", cfg.eval.dev, step, len(dev_records))
        cells, _ = evaluate_suite(acc.unwrap_model(model), tokenizer, dev_records, cfg.eval.dev, cfg.features,
                                  tc.eval_batch_size, device, eval_autocast(tc.precision, device), decoding(cfg.eval))
        sink.log_eval(step, cfg.eval.dev, cells)
        summary = summarize(cells)
        score = summary["gxlt"]
        log.info("dev %s at step %d: %s", cfg.eval.dev, step, format_summary(summary))
        sink.log_metrics(step, {"dev_gxlt_f1": score, "dev_xlt_f1": summary["xlt"]})
        if score > counters["best"]:
            counters["best"] = score
            best_dir = promote_best(output_dir, acc.unwrap_model(model), tokenizer, step)
            sink.log_artifact("best", str(best_dir), step)
        model.train()

    def checkpoint(mid_epoch: bool):
        """Rows up to this step reach the store before the checkpoint becomes visible: a kill after it
        resumes with every row, a kill before it resumes from the previous one (and truncates to it)."""
        acc.wait_for_everyone()
        rng_ranks = None
        if world > 1:  # every rank's own RNG (its dropout stream), kept by the main process
            rng_ranks = [None] * world
            torch.distributed.all_gather_object(rng_ranks, rng_state())
        if main:
            carried = None  # the main process's own: under DDP a resumed tail holds its gradients only
            if (tc.epoch_tail == "carry" and counters["epoch"] < tc.epochs  # after the last epoch: never applied
                    and any(p.grad is not None for p in model.parameters())):
                carried = [None if p.grad is None else p.grad.detach().cpu() for p in model.parameters()]
            spent.steps = counters["global_step"] - start_step
            cost.emit(sink)  # with this step's rows: a kill after the checkpoint keeps what was spent until here
            partial = write_partial(output_dir, acc.unwrap_model(model), tokenizer, optimizer, scheduler,
                                    dict(counters), teacher if (distill and mid_epoch) else None, window.state(),
                                    carried, rng_ranks, acc.scaler.state_dict() if acc.scaler is not None else None)
            sink.log_artifact("checkpoint", str(output_dir / LINK), counters["global_step"],
                              sum(f.stat().st_size for f in partial.rglob("*") if f.is_file()))
            try:
                flush = getattr(sink, "flush_with_retry", sink.flush)
                flush()
            except Exception as e:  # the rows are kept in memory; without them on disk, keep the older checkpoint
                log.warning("checkpoint at step %d not published: the store could not be written (%s)",
                            counters["global_step"], e)
                return
            publish(partial, tc.keep_checkpoints)
            log.info("checkpoint at step %d (epoch %d)", counters["global_step"], counters["epoch"])

    window = _Window(device)
    if window_state:
        window.load_state(window_state, device)
    model.train()
    n = len(feats)
    cost = cost or CostMeter(devices=world, device=device)
    start_step = counters["global_step"]
    spent = cost.start("train")  # stopped at the end; a raise leaves it open, and rows() counts it up to now
    spent.features = n
    t0 = time.perf_counter()
    eta = _Eta(counters["global_step"])
    log.info("%s: %d features, %d optimizer steps (%d per epoch), %d process(es) on %s%s",
             tc.stage, n, total_steps, per_epoch, world, device,
             f"; {feats.dropped} examples dropped (features.labels = legacy)" if feats.dropped else "")
    if dropped_tail:
        log.info("the last %d feature(s) of each epoch's order are left out: fewer than the %d processes",
                 dropped_tail, world)
    while counters["epoch"] < tc.epochs and not (tc.max_steps and counters["global_step"] >= tc.max_steps):
        epoch = counters["epoch"]
        if distill and (teacher is None or teacher.generation != epoch):
            # generation `epoch`: the teacher is the model as it is now (epoch 0: the initial model)
            log.info("generation %d: teacher pass over %d features", epoch, len(feats))
            cost.start("teacher")
            teacher = compute_teacher(acc.unwrap_model(model), feats, epoch, dc.coefficient, dc.k, dc.window,
                                      tc.eval_batch_size, device, autocast, mask=tc.mask_padding_logits,
                                      store_dtype=getattr(torch, dc.teacher_cache_dtype), temperature=dc.temperature)
            cost.stop("teacher")
            if main:
                _log_generation(sink, teacher, feature_pairs, counters["global_step"])
                log.info("generation %d: teacher %s mean %.3f", epoch, dc.coefficient, float(teacher.coef.float().mean()))
        order = _epoch_order(n, tc.seed, epoch)
        for micro in range(counters["micro_in_epoch"], micro_per_epoch):
            lo = micro * tc.batch_size * world
            global_idx = order[lo:lo + tc.batch_size * world]
            idx = global_idx[rank::world] if world > 1 else global_idx  # never empty (micro_batches)
            batch = feats.batch(idx.numpy())
            if device.type == "cuda":  # pinned: the copy overlaps the previous step's kernels
                batch = {k: v.pin_memory() for k, v in batch.items()}
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            # accumulation by hand: the last group of an epoch may be shorter, and still steps (epoch_tail =
            # step), or it is left unstepped and its gradients carry over (carry: always divided by grad_accum)
            group_start = micro - micro % tc.grad_accum
            if tc.epoch_tail == "carry":
                group_size = tc.grad_accum
            else:
                group_size = min(tc.grad_accum, micro_per_epoch - group_start)
            sync = micro + 1 == group_start + group_size
            with (nullcontext() if sync else acc.no_sync(model)), acc.autocast():
                out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            token_type_ids=batch.get("token_type_ids"))
                s = masked_logits(out.start_logits, batch["attention_mask"], tc.mask_padding_logits)
                e = masked_logits(out.end_logits, batch["attention_mask"], tc.mask_padding_logits)
                if distill:
                    ts, te, coef = teacher.slice(batch["feature_index"], s.size(1))
                    # the paper's batch-level w is a mean over the whole batch, also when DDP splits it
                    # (coefficient groups lie inside one rank's micro-batch: no reduce)
                    batch_coef = acc.reduce(coef.mean(), reduction="mean") if world > 1 and not dc.coef_group else None
                    parts = step_loss(s, e, batch, tc.stage, dc, (ts, te, coef), batch_coef)
                    window.add_coefs(coef)
                else:
                    parts = step_loss(s, e, batch, tc.stage, dc)
                acc.backward(parts["loss"] / group_size)
            window.add(parts, len(idx) * world)
            counters["micro_in_epoch"] = micro + 1
            if not sync:
                continue
            if tc.max_grad_norm > 0:
                acc.clip_grad_norm_(model.parameters(), tc.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if not acc.optimizer_step_was_skipped:  # fp16: an inf/nan step the scaler skipped moves no schedule
                scheduler.step()
            counters["global_step"] += 1
            step = counters["global_step"]
            if main:
                sink.progress(step, total_steps, epoch)
            if step % tc.log_every == 0:
                values = window.emit(acc, sink, step, scheduler.get_last_lr()[0], time.perf_counter() - t0)
                t0 = time.perf_counter()
                if main:
                    eta.log(step, total_steps, epoch, values)
            if tc.eval_every and step % tc.eval_every == 0:
                evaluate_dev(step)
            if tc.checkpoint_every and step % tc.checkpoint_every == 0:
                checkpoint(mid_epoch=True)
            if stop_requested(acc, sink, device):
                checkpoint(mid_epoch=True)
                raise Cancelled(f"stopped at step {step}")
            if tc.max_steps and step >= tc.max_steps:
                break
        if counters["micro_in_epoch"] >= micro_per_epoch:
            counters["epoch"] += 1
            counters["micro_in_epoch"] = 0
        if window.count:
            window.emit(acc, sink, counters["global_step"], scheduler.get_last_lr()[0], time.perf_counter() - t0)
            t0 = time.perf_counter()
        if not tc.eval_every:
            evaluate_dev(counters["global_step"])
        checkpoint(mid_epoch=counters["micro_in_epoch"] > 0)
    cost.stop("train")
    spent.steps = counters["global_step"] - start_step
    sink.flush()
    return TrainResult(counters["global_step"], counters["best"], best_dir, last_dir)


def _log_generation(sink, teacher: TeacherCache, feature_pairs, step):
    coef = teacher.coef.float().cpu().numpy()
    sink.log_histogram("coef_generation", step, coef, generation=teacher.generation)
    if feature_pairs is not None:
        by_pair: dict[str, list[float]] = {}
        for pair, c in zip(feature_pairs, coef):
            by_pair.setdefault(pair, []).append(float(c))
        rows = [(p.split("-")[0], p.split("-")[1], float(np.mean(v)), len(v)) for p, v in sorted(by_pair.items())]
        sink.log_pair_stats(teacher.generation, "teacher_coef", rows)


class _Window:
    """Sums of a logging window, kept on the device until emitted."""

    def __init__(self, device):
        self.device = device
        self.reset()

    def reset(self):
        self.sums = {}
        self.count = 0
        self.examples = 0
        self.coefs = []

    def add(self, parts: dict, examples: int):
        for k, v in parts.items():
            v = v.detach()
            self.sums[k] = self.sums[k] + v if k in self.sums else v.clone()
        self.count += 1
        self.examples += examples

    def add_coefs(self, coef):
        self.coefs.append(coef.detach())

    def state(self) -> dict:
        """The open window's sums, so a resumed run logs the same values as an uninterrupted one."""
        return {"sums": {k: v.detach().cpu() for k, v in self.sums.items()}, "count": self.count,
                "examples": self.examples, "coefs": torch.cat(self.coefs).cpu() if self.coefs else None}

    def load_state(self, state: dict, device) -> None:
        self.sums = {k: v.to(device) for k, v in state["sums"].items()}
        self.count, self.examples = state["count"], state["examples"]
        self.coefs = [state["coefs"].to(device)] if state["coefs"] is not None else []

    def emit(self, acc, sink, step, lr, seconds) -> dict:
        """Collective over processes (every rank calls it); the main process writes."""
        keys = sorted(self.sums)
        sums = torch.stack([self.sums[k].float() for k in keys])
        if acc.num_processes > 1:
            sums = acc.reduce(sums, reduction="mean")
        values = dict(zip(keys, (sums / self.count).tolist()))  # the one host sync per window
        bad = {k: v for k, v in values.items() if k.startswith("loss") and not math.isfinite(v)}
        if bad:  # every rank holds the same reduced means, so every rank stops here together
            raise NonFiniteLoss(f"loss is not finite at step {step} (mean of the {self.count} micro-batches "
                                f"since the last log: {', '.join(f'{k} {v}' for k, v in sorted(bad.items()))}); "
                                "the run stops rather than train on")
        values["lr"] = lr
        values["examples_per_s"] = self.examples / max(seconds, 1e-9)
        coefs = torch.cat(self.coefs) if self.coefs else None
        if coefs is not None and acc.num_processes > 1:
            coefs = acc.gather(coefs)
        if acc.is_main_process:
            sink.log_metrics(step, values)
            if coefs is not None:
                sink.log_histogram("coef", step, coefs.float().cpu().numpy())
        self.reset()
        return values


class _Eta:
    """Progress lines for the worker log: step, epoch, loss, speed and time left."""

    def __init__(self, start_step: int):
        self.start_step, self.t0 = start_step, time.perf_counter()

    def log(self, step: int, total: int, epoch: int, values: dict) -> None:
        done = step - self.start_step
        left = (time.perf_counter() - self.t0) / done * (total - step) if done > 0 else float("nan")
        extra = "".join(f" {k} {values[k]:.4f}" for k in ("loss_ce", "loss_kl", "coef") if k in values)
        log.info("epoch %d step %d/%d loss %.4f%s lr %.2e %.1f ex/s ETA %s", epoch, step, total, values.get("loss", float("nan")),
                 extra, values.get("lr", 0.0), values.get("examples_per_s", 0.0), _clock(left))


def _clock(seconds: float) -> str:
    if seconds != seconds:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
