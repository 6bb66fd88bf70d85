"""The device check's measurements (issue 20 §5-6), on one CUDA GPU, each stage a JSON section:

- peak: the device's bf16 (and TF32, IEEE fp32) matmul rate, an 8192^3 GEMM timed with CUDA events: the
  denominator of every MFU below, taken in the same run rather than from a datasheet;
- throughput: training steps of engine.train.loop.train on a bert-base-shaped model built from a config
  (mBERT's vocabulary 119,547, 12 layers, hidden 768, 12 heads, random weights) at sequence length 384, in
  bf16, TF32 and IEEE fp32, at micro-batches 24 x 1 (coefficient groups of 6) and 6 x 4 (the paper's); plus
  the teacher pass (a forward over the generation's features); features/s, TFLOP/s, MFU against the bf16 peak,
  and the extrapolated wall time of the paper's stage 2 (163,664 features x 3 epochs + a teacher pass each);
- syncs: host syncs per optimizer step (torch.cuda.set_sync_debug_mode("warn")) in a fresh and a resumed bf16
  run of the same 12-layer structure (the number of parameter tensors is what per-tensor syncs scale with);
- e2e: a bf16 distillation launched through the scheduler, killed with SIGKILL after a mid-generation
  checkpoint and resumed, its rows compared with an uninterrupted run's (with and without
  train.deterministic), and the sys_gpu_* rows its worker's system monitor wrote.

    python benchmarks/bench_gpu.py --out DIR                          # peak, throughput, syncs on CUDA
    python benchmarks/bench_gpu.py --stages e2e --out DIR             # the launched kill/resume
    python benchmarks/bench_gpu.py --device cpu --smoke --out DIR     # tiny shapes, a few steps: the script runs

Writes DIR/bench_gpu.json (or e2e.json for the e2e stage) and prints one summary line per measurement.
Training FLOPs per token (stated in docs/gpu.md): 6 N + 12 L d T, N the weights every token is multiplied
by (per layer 4 d^2 + 2 d ffn, plus the QA head's 2 d; embeddings are lookups), L layers, d hidden, T the
padded sequence length (QK^T and AV: 2 x 2 T d FLOPs per layer per token forward, x 3 with the backward).
A teacher (forward) pass costs a third: 2 N + 4 L d T.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # this checkout's engine, and its tests/ (the job tests' helpers), which no install provides
    sys.path.insert(0, ROOT)

MBERT = {"vocab": 119_547, "hidden": 768, "layers": 12, "heads": 12, "ffn": 3072}
SMOKE_SHAPE = {"vocab": 1000, "hidden": 32, "layers": 2, "heads": 2, "ffn": 128}
STAGE2 = {"features": 163_664, "epochs": 3}          # the paper's stage 2: XQuAD sampled, 3 generations
COEF_GROUP = 6                                       # the paper's micro-batch, the coefficient's group
# precision, micro-batch, grad_accum: 24 x 1 with coefficient groups of 6 has the loss of the paper's 6 x 4
CONFIGS = [(p, m, a) for p in ("bf16", "tf32", "no") for m, a in ((24, 1), (6, 4))]
TARGETS = {"mfu_bf16_mb24": 0.40, "stage2_minutes": 12.0, "syncs_per_step": 1.0}


# --- the arithmetic ---------------------------------------------------------------------------------

def matmul_params(hidden: int, layers: int, ffn: int) -> int:
    """Weights every token is multiplied by: Q, K, V, the attention output (4 d^2) and the FFN (2 d ffn) per
    layer, and the QA head (2 d). Embeddings are lookups; biases and LayerNorm are not matmuls."""
    return layers * (4 * hidden * hidden + 2 * hidden * ffn) + 2 * hidden


def train_flops_per_token(hidden: int, layers: int, ffn: int, seq: int) -> int:
    """6 N + 12 L d T: forward 2 FLOPs per weight, backward 4; QK^T and AV 4 T d per layer forward, x 3."""
    return 6 * matmul_params(hidden, layers, ffn) + 12 * layers * hidden * seq


def forward_flops_per_token(hidden: int, layers: int, ffn: int, seq: int) -> int:
    """A forward pass (the teacher's): 2 N + 4 L d T."""
    return 2 * matmul_params(hidden, layers, ffn) + 4 * layers * hidden * seq


def mfu(features_per_s: float, seq: int, flops_per_token: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: the FLOP/s the model's arithmetic needs at this speed over the device's peak.
    Every padded position counts (the features are padded to seq, and the kernels compute them)."""
    return features_per_s * seq * flops_per_token / peak_flops


def stage2_minutes(train_features_per_s: float, teacher_features_per_s: float, features: int = STAGE2["features"],
                   epochs: int = STAGE2["epochs"]) -> float:
    """Wall time of the paper's stage 2: every epoch trains on every feature once and starts with a teacher
    pass over them all (a generation). Loading, tokenizing and evaluation are left out."""
    return epochs * features * (1 / train_features_per_s + 1 / teacher_features_per_s) / 60


# --- helpers ----------------------------------------------------------------------------------------

def _sync(device):
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize()


def random_features(n: int, vocab: int, seq: int, seed: int = 0):
    """QA features of random tokens padded to seq: lengths in [seq/2, seq], a question of seq/8 tokens, an
    answer span inside the context (the attention mask and the mAP@k coefficient see real work)."""
    import numpy as np

    from engine.features import QAFeatures
    rng = np.random.default_rng(seed)
    lengths = rng.integers(seq // 2, seq + 1, n)
    question = max(2, seq // 8)
    ids, types, offsets = [], [], []
    for length in lengths:
        x = rng.integers(5, vocab, length).astype(np.int32)
        x[0] = 2
        t = np.zeros(length, np.int8)
        t[question:] = 1
        ids.append(x)
        types.append(t)
        offsets.append(np.full((length, 2), -1, np.int32))
    start = rng.integers(question + 1, lengths - 1)
    end = np.minimum(start + rng.integers(0, 8, n), lengths - 1)
    return QAFeatures(ids, types, offsets, np.arange(n, dtype=np.int64), start.astype(np.int64), end.astype(np.int64),
                      pad_token_id=0, pad_to=seq, doc_start=np.zeros(n, np.int64))


def bert(shape: dict, device, seed: int = 0):
    """A BERT QA model built from a config, random weights, on the device."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=shape["vocab"], hidden_size=shape["hidden"], num_hidden_layers=shape["layers"],
                     num_attention_heads=shape["heads"], intermediate_size=shape["ffn"], max_position_embeddings=512)
    with torch.device(device):
        return BertForQuestionAnswering(cfg)


def train_config(precision: str, micro: int, accum: int, seq: int, max_steps: int, **train):
    from engine.config import from_dict
    return from_dict({
        "model": {"name": "bench"},
        "features": {"max_length": seq, "doc_stride": seq // 3, "max_query_length": seq // 6, "padding": "max_length"},
        "train": {"stage": "distill", "epochs": 1, "batch_size": micro, "grad_accum": accum, "precision": precision,
                  "max_steps": max_steps, "log_every": 10, "checkpoint_every": 0, "warmup_ratio": 0.0,
                  "learning_rate": 5e-5, **train},
        "distill": {"coefficient": "map@k", "coef_group": COEF_GROUP if micro > COEF_GROUP else 0},
        "eval": {"dev": "", "suites": []},
    })


class _Done(Exception):
    """Ends a measured training at a chosen step, before any checkpoint is written."""


def _sink(device, warm: int, last: int, marks: dict, on_step=None):
    """A sink that stamps a synchronized clock at step `warm` and `last`, then stops the loop there."""
    from engine.sink import NullSink

    class Clock(NullSink):
        def progress(self, step, total, epoch):
            if on_step is not None:
                on_step(step)
            if step in (warm, last):
                _sync(device)
                marks[step] = time.perf_counter()
            if step == last:
                raise _Done

    return Clock()


# --- peak -------------------------------------------------------------------------------------------

def measure_peak(device, smoke: bool) -> dict:
    """TFLOP/s of a square GEMM: bf16, TF32 and IEEE fp32 on CUDA (CUDA events, median of 10); on CPU fp32 only."""
    import torch
    n = 256 if smoke else 8192
    out = {"gemm": n}
    cases = {"bf16": (torch.bfloat16, "highest"), "tf32": (torch.float32, "high"), "fp32": (torch.float32, "highest")}
    if device.type != "cuda":
        cases = {"fp32": cases["fp32"]}
    saved = torch.get_float32_matmul_precision()
    for name, (dtype, matmul) in cases.items():
        torch.set_float32_matmul_precision(matmul)
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(3):
            a @ b
        times = []
        for _ in range(3 if smoke else 10):
            if device.type == "cuda":
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                a @ b
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop) / 1e3)
            else:
                t = time.perf_counter()
                a @ b
                times.append(time.perf_counter() - t)
        out[f"{name}_tflops"] = float(f"{2 * n ** 3 / sorted(times)[len(times) // 2] / 1e12:.4g}")
        del a, b
    torch.set_float32_matmul_precision(saved)
    out["peak_tflops"] = out.get("bf16_tflops", out["fp32_tflops"])   # CPU: its fp32 GEMM is its peak
    if device.type == "cuda":
        out["device"] = torch.cuda.get_device_name()
    return out


# --- throughput -------------------------------------------------------------------------------------

def measure_training(precision: str, micro: int, accum: int, device, smoke: bool, teacher: bool = True) -> dict:
    """Features/s of optimizer steps after a warm-up (the teacher pass of the generation is before it), and
    of a teacher pass over the same features, timed on its own."""
    import torch

    from engine.train.loop import make_accelerator, train
    from engine.train.teacher_cache import compute_teacher
    shape, seq = (SMOKE_SHAPE, 32) if smoke else (MBERT, 384)
    warm, steps = (1, 2) if smoke else ((3, 6) if precision == "no" else (5, 20))
    cfg = train_config(precision, micro, accum, seq, warm + steps + 1)
    acc = make_accelerator(cfg, cpu=device.type != "cuda")  # sets TF32 on or off for what follows
    feats = random_features((warm + steps + 1) * micro * accum, shape["vocab"], seq, seed=1)
    model = bert(shape, acc.device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    row = {"precision": precision, "micro_batch": micro, "grad_accum": accum, "seq": seq,
           "coef_group": cfg.distill.coef_group, "steps_timed": steps}
    if teacher:
        autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(acc.mixed_precision)
        run = lambda f: compute_teacher(model, f, 0, "map@k", 10, 5, cfg.train.eval_batch_size, acc.device, autocast)
        run(random_features(cfg.train.eval_batch_size, shape["vocab"], seq, seed=2))      # warm-up
        _sync(acc.device)
        t = time.perf_counter()
        run(feats)
        _sync(acc.device)
        row["teacher_features_per_s"] = round(len(feats) / (time.perf_counter() - t), 1)
    marks: dict = {}
    out_dir = Path(tempfile.gettempdir()) / f"xlqa-bench-gpu-{os.getpid()}"   # never written: _Done comes first
    try:
        train(cfg, model, None, feats, out_dir, sink=_sink(acc.device, warm, warm + steps, marks), accelerator=acc)
    except _Done:
        pass
    seconds = marks[warm + steps] - marks[warm]
    row["train_features_per_s"] = round(steps * micro * accum / seconds, 1)
    row["ms_per_step"] = round(1e3 * seconds / steps, 2)
    if device.type == "cuda":
        row["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    row["shape"] = dict(shape)
    return row


def derive(row: dict, peak_tflops: float, teacher_features_per_s: float | None) -> dict:
    """TFLOP/s, MFU against the measured bf16 peak, and the stage-2 minutes of one throughput row. The
    teacher pass does not depend on the micro-batch: the precision's one measurement serves both rows."""
    s = row["shape"]
    per_token = train_flops_per_token(s["hidden"], s["layers"], s["ffn"], row["seq"])
    row["train_tflops"] = round(row["train_features_per_s"] * row["seq"] * per_token / 1e12, 4)
    row["mfu"] = round(mfu(row["train_features_per_s"], row["seq"], per_token, peak_tflops * 1e12), 5)
    if teacher_features_per_s:
        row["teacher_features_per_s"] = teacher_features_per_s
        fwd = forward_flops_per_token(s["hidden"], s["layers"], s["ffn"], row["seq"])
        row["teacher_mfu"] = round(mfu(teacher_features_per_s, row["seq"], fwd, peak_tflops * 1e12), 4)
        row["stage2_minutes"] = round(stage2_minutes(row["train_features_per_s"], teacher_features_per_s), 2)
    return row


# --- host syncs -------------------------------------------------------------------------------------

class SyncCounter:
    """Host syncs by step and place, from torch.cuda.set_sync_debug_mode("warn")'s warnings."""

    MESSAGE = "synchronizing CUDA operation"

    def __init__(self, device):
        self.device, self.step, self.by_step, self.places = device, 0, {}, {}

    def on_step(self, step: int):
        self.step = step

    def _show(self, message, category, filename, lineno, file=None, line=None):
        if self.MESSAGE not in str(message):
            return self._saved(message, category, filename, lineno, file, line)
        self.by_step[self.step] = self.by_step.get(self.step, 0) + 1
        where = f"{'/'.join(filename.split('/')[-2:])}:{lineno}"
        self.places[where] = self.places.get(where, 0) + 1

    def __enter__(self):
        import torch
        self._filters = warnings.catch_warnings()
        self._filters.__enter__()
        warnings.simplefilter("always")
        self._saved, warnings.showwarning = warnings.showwarning, self._show
        if self.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        return self

    def __exit__(self, *exc):
        import torch
        if self.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")
        warnings.showwarning = self._saved
        self._filters.__exit__(*exc)

    def per_step(self, first: int, last: int) -> dict:
        """Syncs from just after step `first` through step `last` (the steps' own work, logging windows
        included; the setup and teacher pass before `first` left out), per optimizer step."""
        counts = [self.by_step.get(s, 0) for s in range(first, last)]
        top = sorted(self.places.items(), key=lambda kv: -kv[1])[:5]
        return {"per_step": round(sum(counts) / max(1, len(counts)), 3), "max_in_a_step": max(counts, default=0),
                "steps": len(counts), "top": [f"{k} x{v}" for k, v in top]}


def measure_syncs(device, smoke: bool) -> dict:
    """A fresh bf16 run stopped (cancelled, checkpointed) at step 12 and resumed to step 24. The model has
    mBERT's 12 layers (its count of parameter tensors) at a narrow width, so its checkpoint is small."""

    from engine.cancel import Cancelled
    from engine.modeling import train_wordpiece
    from engine.sink import NullSink
    from engine.train.loop import make_accelerator, train
    shape = SMOKE_SHAPE if smoke else {**MBERT, "vocab": 8000, "hidden": 128, "heads": 2, "ffn": 512}
    seq, stop, total = (32, 4, 8) if smoke else (384, 12, 24)
    cfg = train_config("bf16", 24, 1, seq, total, log_every=5 if not smoke else 2)
    feats = random_features(24 * total, shape["vocab"], seq, seed=3)
    tokenizer = train_wordpiece(["a b c"], 60)                  # only written with the checkpoint
    result = {"counted": device.type == "cuda", "model_layers": shape["layers"]}
    if not result["counted"]:
        result["note"] = "CPU: torch.cuda.set_sync_debug_mode has nothing to count; the runs only"

    class Stopper(NullSink):
        def __init__(self, counter):
            self.counter, self.at = counter, 0

        def progress(self, step, total, epoch):
            self.counter.on_step(step)
            self.at = step

        def should_stop(self):
            return self.at == stop

    cpu = device.type != "cuda"
    with tempfile.TemporaryDirectory(prefix="xlqa-syncs-") as tmp:
        out = Path(tmp)
        with SyncCounter(device) as fresh:
            try:
                train(cfg, bert(shape, device), tokenizer, feats, out, sink=Stopper(fresh), accelerator=make_accelerator(cfg, cpu))
            except Cancelled:
                pass
        with SyncCounter(device) as resumed:
            train(cfg, bert(shape, device), tokenizer, feats, out, sink=Stopper(resumed), resume_from=out / "checkpoint",
                  accelerator=make_accelerator(cfg, cpu))
    result["fresh"] = fresh.per_step(1, stop)
    result["resumed"] = resumed.per_step(stop + 1, total)
    return result


# --- e2e --------------------------------------------------------------------------------------------

def run_e2e(smoke: bool, deterministic: bool) -> dict:
    import shutil
    work = Path(tempfile.mkdtemp(prefix="xlqa-e2e-"))
    try:
        return _e2e(work, smoke, deterministic)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _e2e(work: Path, smoke: bool, deterministic: bool) -> dict:
    """The job system on the device: an uninterrupted foreground run and a launched one killed with SIGKILL
    right after a mid-generation checkpoint of generation 2, then resumed; their rows compared (the helpers
    of tests/integration/test_jobs.py), and the sys_gpu_* rows of the launched run read back."""
    import re
    import sqlite3

    import torch
    from click.testing import CliRunner

    from db import Store
    from engine.cli import main
    from engine.jobs.devices import cpu_threads
    from tests.jobs_helpers import TERMINAL, kill_worker, launch, rows, slow_config, wait_for, wait_until

    every = 8 if smoke else 40
    train = {"precision": "bf16", "deterministic": deterministic, "checkpoint_every": every}
    paragraphs = 30 if smoke else 100
    os.environ.setdefault("XLQA_CPU_SLOTS", "2")
    os.environ.setdefault("XLQA_SYS_INTERVAL_S", "1")                       # read by the workers at start
    result = {"deterministic": deterministic, "precision": "bf16", "cuda": torch.cuda.is_available()}
    t0 = time.time()
    base_dir = work / "base"
    base_dir.mkdir()
    os.environ["XLQA_DB"] = str(base_dir / "xlqa.db")
    # as the scheduler's CPU workers (tests/jobs_helpers.baseline_rows): float sums depend on the thread count
    torch.set_num_threads(cpu_threads(int(os.environ["XLQA_CPU_SLOTS"])))
    ran = CliRunner().invoke(main, ["run", str(slow_config(base_dir, "kill", paragraphs, **train))])
    assert ran.exit_code == 0, ran.output
    base_store = Store(os.environ["XLQA_DB"])
    base = next(r for r in base_store.list_runs() if r["kind"] == "distill")
    result["baseline_s"] = round(time.time() - t0, 1)
    kill_dir = work / "kill"
    kill_dir.mkdir()
    os.environ["XLQA_DB"] = str(kill_dir / "xlqa.db")
    store = Store(os.environ["XLQA_DB"])
    ids = launch(slow_config(kill_dir, "kill", paragraphs, **train))
    run_id = ids[1]
    # the kill: right after the first mid-epoch checkpoint of generation 2 (epoch index 1, micro > 0)
    mid = re.compile(r"step-(\d+)-epoch-001-micro-0*[1-9]\d*$")
    folder = lambda: Path(store.get_run(run_id)["output_dir"]) / "checkpoints"
    seen = lambda: folder().is_dir() and any(mid.match(p.name) for p in folder().iterdir())
    wait_until(lambda: seen() or store.get_run(run_id)["status"] in TERMINAL, timeout=300, what="a mid-generation checkpoint")
    before = store.get_run(run_id)
    if before["status"] in TERMINAL:
        result.update(ok=False, error=f"the run ended ({before['status']}) before a mid-generation checkpoint")
        return result
    kill_worker(store, run_id)
    lost = wait_for(store, run_id, TERMINAL, timeout=60)
    result["killed"] = {"step": before["step"], "of": base["step"], "status": lost["status"],
                        "checkpoints": sorted(p.name for p in folder().iterdir())}
    assert CliRunner().invoke(main, ["resume", str(run_id)]).exit_code == 0
    final = wait_for(store, run_id, TERMINAL, timeout=300)
    result["resumed"] = {"status": final["status"], "attempt": final["attempt"], "devices": final["assigned_devices"]}
    a, b = rows(base_store, base["id"]), rows(store, run_id)
    tables = {t: {"rows": [len(a[t]), len(b[t])], "equal": a[t] == b[t]} for t in a}
    ma = {(k, c, s): v for k, c, s, v in a["metric"]}
    mb = {(k, c, s): v for k, c, s, v in b["metric"]}
    diffs = [abs(ma[x] - mb[x]) / max(abs(ma[x]), 1e-12) for x in ma.keys() & mb.keys()]
    result["rows"] = {"tables": tables, "same_metric_keys": ma.keys() == mb.keys(),
                      "metric_max_rel_diff": max(diffs, default=0.0), "metric_rows_differing": sum(d > 0 for d in diffs)}
    con = sqlite3.connect(os.environ["XLQA_DB"])
    sys_rows = con.execute("SELECT key, context, count(*), max(value) FROM metric WHERE run_id = ? AND key LIKE 'sys_%' "
                           "GROUP BY key, context ORDER BY key, context", (run_id,)).fetchall()
    con.close()
    result["sys_rows"] = [{"key": k, "context": c, "n": n, "max": round(v, 2)} for k, c, n, v in sys_rows]
    gpu_rows = [r for r in result["sys_rows"] if r["key"].startswith("sys_gpu_")]
    result["sys_gpu_ok"] = bool(gpu_rows) if result["cuda"] else None
    result["rows_equal"] = all(t["equal"] for t in tables.values())
    result["ok"] = (lost["status"] == "lost" and final["status"] == "done" and final["attempt"] == 2
                    and (result["rows_equal"] or not (deterministic or not result["cuda"]))  # exact: CPU, or CUDA
                    and result["sys_gpu_ok"] is not False)                                  # deterministic
    result["seconds"] = round(time.time() - t0, 1)
    return result


# --- the report -------------------------------------------------------------------------------------

def summary_lines(report: dict) -> list[str]:
    """One line per measurement, with the §6 target beside the number it judges."""
    lines = []
    judged = report["device"] == "cuda" and not report["smoke"]  # smoke or CPU numbers judge nothing

    def verdict(ok: bool, target: str) -> str:
        return f" (target {target}: {'met' if ok else 'MISSED'})" if judged else f" (target {target}: not judged here)"

    peak = report.get("peak")
    if peak:
        extra = "".join(f" {k.split('_')[0]} {peak[k]:.4g}" for k in ("tf32_tflops", "fp32_tflops") if k in peak)
        lines.append(f"peak GEMM {peak['gemm']}^3: {peak['peak_tflops']:.4g} TFLOP/s (the MFU denominator);{extra}")
    for r in report.get("throughput", []):
        if "error" in r:
            lines.append(f"train {r['precision']} {r['micro_batch']}x{r['grad_accum']}: FAILED {r['error']}")
            continue
        headline = r["precision"] == "bf16" and r["micro_batch"] == 24   # the configuration §6 judges
        line = (f"train {r['precision']:4s} {r['micro_batch']:2d}x{r['grad_accum']} seq {r['seq']}: "
                f"{r['train_features_per_s']:.1f} features/s, {r['ms_per_step']:.1f} ms/step, "
                f"{r['train_tflops']:.4g} TFLOP/s, MFU {r['mfu']:.1%}"
                + (verdict(r["mfu"] >= TARGETS["mfu_bf16_mb24"], f">= {TARGETS['mfu_bf16_mb24']:.0%}") if headline else ""))
        if "stage2_minutes" in r:
            line += (f"; teacher {r['teacher_features_per_s']:.0f} features/s; stage 2 ~ {r['stage2_minutes']:.1f} min"
                     + (verdict(r["stage2_minutes"] <= TARGETS["stage2_minutes"], f"<= {TARGETS['stage2_minutes']:.0f} min")
                        if headline else ""))
        lines.append(line)
    syncs = report.get("syncs")
    if syncs and "error" not in syncs:
        for run in ("fresh", "resumed"):
            s = syncs[run]
            judged_here = verdict(s["per_step"] <= TARGETS["syncs_per_step"], f"<= {TARGETS['syncs_per_step']:.0f}") \
                if syncs["counted"] else " (not counted on CPU)"
            lines.append(f"host syncs per step, {run} bf16 run: {s['per_step']:.2f} over {s['steps']} steps, "
                         f"max {s['max_in_a_step']} in a step{judged_here}; top {s['top'][:3]}")
    elif syncs:
        lines.append(f"host syncs: FAILED {syncs['error']}")
    for e in report.get("e2e", []):
        if "rows" not in e:
            lines.append(f"e2e deterministic={e['deterministic']}: FAILED {e.get('error')}")
            continue
        lines.append(f"e2e bf16 deterministic={e['deterministic']}: killed at step {e['killed']['step']}/"
                     f"{e['killed']['of']} ({e['killed']['status']}), resumed {e['resumed']['status']} attempt "
                     f"{e['resumed']['attempt']} on device '{e['resumed']['devices']}'; rows equal: {e['rows_equal']} "
                     f"(metric max rel diff {e['rows']['metric_max_rel_diff']:.1e}); "
                     f"sys_gpu rows {[r['key'] + '/' + r['context'] + ' n=' + str(r['n']) for r in e['sys_rows'] if r['key'].startswith('sys_gpu')]}"
                     f" -> {'PASS' if e['ok'] else 'FAIL'}")
    return lines


def _guard(fn, *args):
    """One broken measurement must not hide the others: its error becomes its row."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - reported in the JSON and the summary
        import traceback
        return {"error": f"{type(e).__name__}: {e}"[:400], "at": traceback.format_exc().splitlines()[-3][:300]}


def _throughput_group(precision: str, device, smoke: bool) -> list[dict]:
    rows = []
    for i, (p, micro, accum) in enumerate(c for c in CONFIGS if c[0] == precision):
        row = _guard(measure_training, p, micro, accum, device, smoke, i == 0)
        if "error" in row:
            row.update(precision=p, micro_batch=micro, grad_accum=accum)
        rows.append(row)
    return rows


def _child(kind: str, arg: str, args) -> dict | list:
    """A measurement in a process of its own: accelerate keeps one mixed precision per process, and
    train.deterministic switches torch's deterministic algorithms on for the rest of a process."""
    cmd = [sys.executable, __file__, "--device", args.device, "--out", str(args.out), "--child", f"{kind}:{arg}"]
    child = subprocess.run(cmd + ["--smoke"] * args.smoke, capture_output=True, text=True)
    got = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    if got:
        return json.loads(got[-1][len("RESULT "):])
    return {"error": f"the child exited {child.returncode}: {(child.stderr or child.stdout).strip()[-400:]}"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes and a few steps (checks the script, no numbers)")
    ap.add_argument("--stages", default="peak,throughput,syncs", help="comma list of peak, throughput, syncs, e2e")
    ap.add_argument("--e2e-modes", default="deterministic,default", help="train.deterministic true, false, or both")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    ap.add_argument("--child", help=argparse.SUPPRESS)  # throughput:PRECISION or e2e:MODE, the result as JSON
    args = ap.parse_args(argv)
    import torch
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device (use --device cpu --smoke to check the script)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if args.child:
        kind, arg = args.child.split(":")
        result = (_throughput_group(arg, device, args.smoke) if kind == "throughput"
                  else _guard(run_e2e, args.smoke, arg == "deterministic"))
        print("RESULT " + json.dumps(result, default=str))
        return 0
    stages = [s for s in args.stages.split(",") if s]
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"device": args.device, "smoke": args.smoke, "targets": TARGETS, "stage2": STAGE2}
    path = args.out / ("e2e.json" if stages == ["e2e"] else "bench_gpu.json")

    def save():  # after every measurement: a stage the deadline cuts short keeps what it had
        report["summary"] = summary_lines(report)
        path.write_text(json.dumps(report, indent=1, default=str))

    if "e2e" in stages:
        report["e2e"] = []
        for mode in filter(None, args.e2e_modes.split(",")):
            result = _child("e2e", mode, args)
            result.setdefault("deterministic", mode == "deterministic")
            report["e2e"].append(result)
            save()
    if "peak" in stages or "throughput" in stages:
        report["peak"] = measure_peak(device, args.smoke)
        save()
    if "throughput" in stages:
        rows = []
        for precision in dict.fromkeys(p for p, _, _ in CONFIGS):
            if device.type == "cuda":
                got = _child("throughput", precision, args)
                rows += got if isinstance(got, list) else [
                    {"precision": p, "micro_batch": m, "grad_accum": a, **got} for p, m, a in CONFIGS if p == precision]
            else:                      # CPU: every precision is fp32 there, one accelerator state serves them all
                rows += _throughput_group(precision, device, args.smoke)
            teacher = {r["precision"]: r["teacher_features_per_s"] for r in rows if "teacher_features_per_s" in r}
            report["throughput"] = [r if "error" in r else derive(dict(r), report["peak"]["peak_tflops"],
                                                                  teacher.get(r["precision"])) for r in rows]
            save()
    if "syncs" in stages:
        report["syncs"] = _guard(measure_syncs, device, args.smoke)
    save()
    for line in report["summary"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
