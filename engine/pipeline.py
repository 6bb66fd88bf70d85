"""One stage of an experiment, top to bottom: data -> sampling -> features -> model -> train -> evaluate.

Called by the worker process, by `xlqa-run run` and by tests; everything it measures leaves through the sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config import ExperimentConfig
from engine.data import load_path, load_source
from engine.data.records import to_squad_json, write_json
from engine.evaluate import evaluate_suite, suite_records, summarize
from engine.features import tokenize
from engine.modeling import load_model_and_tokenizer, parse_tiny
from engine.sampling import pair_counts, sample_cross_lingual
from engine.sink import MetricSink, NullSink
from engine.synthetic import generate
from engine.train import train
from engine.train.loop import make_accelerator


@dataclass
class StageResult:
    global_step: int
    best_dev_gxlt: float
    best_dir: str | None
    final: dict          # suite -> summary (xlt, gxlt, gxlt_cross) on the best checkpoint


def training_records(cfg: ExperimentConfig):
    d = cfg.data
    langs = ["en"] if cfg.train.stage == "teacher" and not d.sample else d.languages
    if d.train == "synthetic":
        table = generate(d.synthetic_paragraphs, langs, seed=cfg.train.seed)
    else:
        table = load_source(d.train, langs)
    if d.exclude_qids_from:
        drop = set(load_path(d.exclude_qids_from)["qid"])
        table = table.filter(lambda r: r["qid"] not in drop)
    if cfg.train.stage == "distill" and d.sample:
        records = sample_cross_lingual(table, d.languages, d.ntl, cfg.train.seed, d.en_centric)
    else:
        records = list(table)
    if d.max_train_examples:
        records = records[:d.max_train_examples]
    if not records:
        raise ValueError(f"no training examples from data.train = {d.train!r} for languages {langs}")
    return records


def dev_records(cfg: ExperimentConfig, suite: str | None = None):
    e = cfg.eval
    return suite_records(suite or e.dev, e.languages, e.data_dir, e.max_per_cell, cfg.train.seed)


def tokenizer_texts(cfg: ExperimentConfig):
    """A tiny model's tokenizer is trained on the synthetic set in every evaluation language, so that all
    stages of an experiment (teacher, distill) share one vocabulary."""
    table = generate(max(cfg.data.synthetic_paragraphs, 200), sorted(set(cfg.eval.languages) | set(cfg.data.languages)), seed=0)
    return list(table["context"]) + list(table["question"])


def run_stage(cfg: ExperimentConfig, output_dir: str | Path, sink: MetricSink | None = None,
              resume_from: str | Path | None = None, accelerator=None) -> StageResult:
    sink = sink or NullSink()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    acc = accelerator or make_accelerator(cfg)

    records = training_records(cfg)
    if acc.is_main_process:
        sampled = write_json(to_squad_json(records), output_dir / "train_data.json.gz")
        sink.log_artifact("train_data", str(sampled), 0)
        sink.log_pair_stats(-1, "train_examples", [(q, c, float(n), n) for (q, c), n in pair_counts(records).items()])

    source = cfg.model.init_from or cfg.model.name
    texts = tokenizer_texts(cfg) if parse_tiny(source) else None
    model, tokenizer = load_model_and_tokenizer(source, texts, seed=cfg.train.seed, vocab_size=cfg.model.vocab_size)
    feats = tokenize(records, tokenizer, cfg.features, labels=True)
    pairs = [f"{records[i]['lang_q']}-{records[i]['lang_c']}" for i in feats.example_index]
    dev = dev_records(cfg) if cfg.eval.dev else None

    result = train(cfg, model, tokenizer, feats, output_dir, feature_pairs=pairs, dev_records=dev, sink=sink,
                   resume_from=Path(resume_from) if resume_from else None, accelerator=acc)

    final = {}
    if acc.is_main_process and cfg.eval.suites:
        best_model, best_tok = (load_model_and_tokenizer(str(result.best_dir)) if result.best_dir
                                else (acc.unwrap_model(model), tokenizer))
        best_model.to(acc.device)
        for suite in cfg.eval.suites:
            recs = dev if (suite == cfg.eval.dev and dev is not None) else dev_records(cfg, suite)
            cells = evaluate_suite(best_model, best_tok, recs, suite, cfg.features, cfg.train.eval_batch_size, acc.device)
            for c in cells:
                c["checkpoint"] = "best"
            sink.log_eval(result.global_step, suite, cells)
            final[suite] = summarize(cells)
    sink.flush()
    return StageResult(result.global_step, result.best_score, str(result.best_dir) if result.best_dir else None, final)
