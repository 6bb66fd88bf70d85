"""One stage of an experiment, top to bottom: data -> sampling -> features -> model -> train -> evaluate.

Called by the worker process, by `xlqa-run run` and by tests; everything it measures leaves through the sink.
torch and transformers are imported by the stages that use them: a sample job runs without them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from engine.config import ExperimentConfig, write_provenance
from engine.cost import CostMeter, recorded
from engine.data import load_path, load_source
from engine.data.loaders import read_json
from engine.data.offsets import require_spans
from engine.data.records import to_squad_json, write_json
from engine.naming import slug
from engine.sampling import pair_counts, sample_cross_lingual
from engine.scoring.summary import summarize
from engine.sink import MetricSink, NullSink
from engine.synthetic import generate


@dataclass
class StageResult:
    global_step: int
    best_dir: str | None
    final: dict          # suite -> summary (xlt, gxlt, gxlt_cross) on the best checkpoint


def training_records(cfg: ExperimentConfig):
    return select_records(cfg, training_table(cfg))


def training_table(cfg: ExperimentConfig):
    """The training data before sampling: the source's records in the stage's languages, minus exclusions."""
    d = cfg.data
    langs = _training_languages(cfg)
    if d.train == "synthetic":
        table = generate(d.synthetic_paragraphs, langs, seed=cfg.train.seed)
    else:
        table = load_source(d.train, langs)
    if d.exclude_qids_from:  # e.g. XQuAD: its questions and every question of its source paragraphs
        excluded = load_path(d.exclude_qids_from, ["en"] if d.train != "synthetic" else None)
        drop_ids, drop_contexts = set(excluded["qid"]), set(excluded["context"])
        table = table.filter(lambda r: r["qid"] not in drop_ids and r["context"] not in drop_contexts)
    return table


def _training_languages(cfg: ExperimentConfig) -> list[str]:
    return ["en"] if cfg.train.stage == "teacher" and not cfg.data.sample else cfg.data.languages


def select_records(cfg: ExperimentConfig, table) -> list[dict]:
    """The training records of `table`: sampled cross-lingually (data.pairs of the drawn languages) when
    distilling, then capped by whole question ids (data.max_train_examples)."""
    d = cfg.data
    if cfg.train.stage == "distill" and d.sample:
        records = sample_cross_lingual(table, d.languages, d.ntl, cfg.train.seed, d.en_centric, d.pairs)
    else:
        records = list(table)
    if d.max_train_examples:
        records = cap_by_question(records, d.max_train_examples, cfg.train.seed)
    if not records:
        raise ValueError(f"no training examples from data.train = {d.train!r} for languages "
                         f"{_training_languages(cfg)}" + (f" and data.pairs = {d.pairs!r}" if d.pairs != "all" else ""))
    return records


def cap_by_question(records: list[dict], cap: int, seed: int) -> list[dict]:
    """At most `cap` records made of whole question ids drawn at random; the first ids in sorted order would
    all come from a few articles (SQuAD-style ids share a prefix per article)."""
    if len(records) <= cap:
        return records
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["qid"], []).append(r)
    order = sorted(groups)
    random.Random(f"{seed}:cap").shuffle(order)
    kept: list[dict] = []
    for qid in order:
        if len(kept) >= cap:
            break
        kept.extend(groups[qid])
    keep = {r["id"] for r in kept[:cap]}
    return [r for r in records if r["id"] in keep]


def dev_records(cfg: ExperimentConfig, suite: str | None = None, trained_qids=frozenset(), xlt_only: bool = False):
    """A suite's cells without the questions trained on (and their paragraphs)."""
    from engine.evaluate import suite_records
    e = cfg.eval
    suite = suite or e.dev
    return suite_records(suite, e.languages_of(suite, xlt_only), e.data_dir, e.max_per_cell, e.subset_seed,
                         synthetic_paragraphs=e.synthetic_paragraphs, xlt_only=xlt_only,
                         exclude_qids=frozenset(trained_qids) if e.exclude_trained else frozenset())


def scored_checkpoint(cfg: ExperimentConfig, train_dir: str | Path) -> Path:
    """The checkpoint the evaluate job scores: the best dev one (eval.checkpoint = best, when there is
    one) or the final one (eval.checkpoint = final: the paper's code keeps each run's final model)."""
    train_dir = Path(train_dir)
    if cfg.eval.checkpoint == "best" and (train_dir / "best").exists():
        return train_dir / "best"
    return train_dir / "checkpoint"


def trained_qids(records) -> frozenset[str]:
    return frozenset(r["qid"] for r in records)


def tokenizer_texts(cfg: ExperimentConfig, records=None):
    """The texts a tiny model's tokenizer is trained on: the synthetic set in every language it has among the
    evaluation and training languages (all stages of a synthetic experiment share one vocabulary), plus the
    training records when they are real data. Later stages load the tokenizer with the checkpoint."""
    from engine.synthetic import LANGS
    langs = sorted((set(cfg.eval.languages) | set(cfg.data.languages)) & set(LANGS)) or ["en"]
    table = generate(max(cfg.data.synthetic_paragraphs, 200), langs, seed=0)
    texts = list(table["context"]) + list(table["question"])
    if records is not None and cfg.data.train != "synthetic":
        texts += [r["context"] for r in records] + [r["question"] for r in records]
    return texts


TRAIN_DATA = "train_data.json.gz"


def run_sample(cfg: ExperimentConfig, output_dir: str | Path, sink: MetricSink | None = None,
               records: list[dict] | None = None) -> Path:
    """Job 1: the training records (sampled when distilling), written as SQuAD JSON for the next job."""
    sink = sink or NullSink()
    with recorded(CostMeter(), sink) as cost, cost.stage("sample"):
        records = records if records is not None else training_records(cfg)
        path = write_json(to_squad_json([{**r, "title": r["id"]} for r in records]), Path(output_dir) / TRAIN_DATA)
    sink.log_pair_stats(-1, "train_examples", [(q, c, float(n), n) for (q, c), n in pair_counts(records).items()])
    # seed question ids: the amount of parallel data (data.max_train_examples keeps whole ids)
    sink.log_metrics(0, {"train_examples": float(len(records)),
                         "train_questions": float(len({r["qid"] for r in records}))})
    sink.log_artifact("train_data", str(path), 0)
    sink.flush()
    return path


def load_train_file(path: str | Path) -> list[dict]:
    """Records written by run_sample: languages come back from the `{qid}_{q}-{c}` ids (or the record table)."""
    from engine.data.loaders import read_json, records_from_squad
    obj = read_json(path)
    records = records_from_squad(obj, path, "en", "en")
    for r in records:
        head, _, pair = r["id"].rpartition("_")
        if head and "-" in pair:
            r["qid"], (r["lang_q"], r["lang_c"]) = head, pair.split("-", 1)
    return records


def run_train(cfg: ExperimentConfig, output_dir: str | Path, sink: MetricSink | None = None,
              records: list[dict] | None = None, resume_from: str | Path | None = None, accelerator=None,
              provenance: dict | None = None):
    """Job 2: teacher or distill training with dev evaluation and best-checkpoint selection. provenance: what
    the launcher knows (run id, git commit, versions), written with the config into every published folder."""
    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer, parse_tiny
    from engine.train import train
    from engine.train.loop import make_accelerator
    sink = sink or NullSink()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    acc = accelerator or make_accelerator(cfg)
    if acc.is_main_process:
        write_provenance(output_dir, cfg, provenance)
    with recorded(CostMeter(devices=acc.num_processes, device=acc.device), sink, acc.is_main_process) as cost:
        with cost.stage("featurize") as featurize:  # model and tokenizer loaded, features and dev cells built
            records = records if records is not None else training_records(cfg)
            require_spans(records, cfg.data.train)
            source = str(resume_from) if resume_from else cfg.model.source
            texts = tokenizer_texts(cfg, records) if parse_tiny(source) else None
            model, tokenizer = load_model_and_tokenizer(source, texts, seed=cfg.train.seed,
                                                        vocab_size=cfg.model.vocab_size)
            feats = tokenize(records, tokenizer, cfg.features, labels=True)
            featurize.features = len(feats)
            pairs = [f"{records[i]['lang_q']}-{records[i]['lang_c']}" for i in feats.example_index]
            dev = dev_records(cfg, trained_qids=trained_qids(records)) if cfg.eval.dev else None
        return train(cfg, model, tokenizer, feats, output_dir, feature_pairs=pairs, dev_records=dev, sink=sink,
                     resume_from=Path(resume_from) if resume_from else None, accelerator=acc, cost=cost)


def run_evaluate(cfg: ExperimentConfig, model_dir: str | Path, sink: MetricSink | None = None, step: int = 0,
                 device=None, trained: frozenset[str] = frozenset(), output_dir: str | Path | None = None,
                 done: dict | None = None) -> dict:
    """Job 3: every suite of cfg.eval.suites (all cells) and cfg.eval.xlt_suites (same-language cells) on a
    checkpoint, cells marked checkpoint=best, one cell at a time: each cell's row and its per-question
    scores are written (flushed) before the next cell starts, so a killed evaluation resumes without scoring
    a finished cell again. `done`: {(suite, lang_q, lang_c): cell} already stored. `trained`: question ids of
    the training data. With output_dir, the predicted answers go to `predictions_<suite>.json` ({id: text},
    ids `{qid}_{q}-{c}`), built from one file per cell under predictions/."""
    import logging

    import torch
    log = logging.getLogger("xlqa.evaluate")
    sink = sink or NullSink()
    done = done or {}
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with recorded(CostMeter(device=device), sink) as cost, cost.stage("evaluate"):
        return _evaluate_suites(cfg, model_dir, sink, step, device, trained, output_dir, done, log, cost)


def _evaluate_suites(cfg, model_dir, sink, step, device, trained, output_dir, done, log, cost) -> dict:
    from engine.evaluate import cell_rows, decoding, eval_autocast, evaluate_suite
    from engine.modeling import load_model_and_tokenizer
    model, tokenizer = load_model_and_tokenizer(str(model_dir))
    model.to(device)
    final = {}
    jobs = [(s, False) for s in cfg.eval.suites] + [(s, True) for s in cfg.eval.xlt_suites]
    for suite, xlt_only in jobs:
        records = dev_records(cfg, suite, trained, xlt_only)
        name = slug(suite.strip("/"), "_")
        cell_dir = Path(output_dir) / "predictions" / name if output_dir is not None else None
        cells, groups = [], cell_rows(records)
        for i, ((lq, lc), rows) in enumerate(groups.items(), 1):
            if (suite, lq, lc) in done:
                cells.append(done[(suite, lq, lc)])
                continue
            cell_records = records.select(rows)
            (cell,), predictions = evaluate_suite(model, tokenizer, cell_records, suite, cfg.features,
                                                  cfg.train.eval_batch_size, device,
                                                  eval_autocast(cfg.train.precision, device), decoding(cfg.eval))
            if cell_dir is not None:  # before the cell's rows: a cell in the store always has its file
                write_json(predictions, cell_dir / f"{lq}-{lc}.json")
            cell["checkpoint"] = "best"
            sink.log_eval(step, suite, [cell])
            cost.emit(sink)   # with the cell: a killed evaluation keeps what its scored cells cost
            sink.flush()
            log.info("%s cell %d/%d %s-%s: F1 %.2f EM %.2f (%d questions)", suite, i, len(groups), lq, lc,
                     cell["f1"], cell["exact_match"], cell["n"])
            cells.append(cell)
        if cell_dir is not None:
            merged = {}
            for lq, lc in groups:
                merged.update(read_json(cell_dir / f"{lq}-{lc}.json"))
            path = write_json(merged, Path(output_dir) / f"predictions_{name}.json")
            sink.log_artifact("predictions", str(path), step)
        summary = summarize(cells)
        if xlt_only:
            summary = {"xlt": summary["xlt"]}
        sink.log_metrics(step, {f"{suite}_{k}_f1": v for k, v in summary.items()})
        final[suite] = summary
    sink.flush()
    return final


def run_stage(cfg: ExperimentConfig, output_dir: str | Path, sink: MetricSink | None = None,
              resume_from: str | Path | None = None, accelerator=None, provenance: dict | None = None) -> StageResult:
    """All three jobs in this process (the foreground `xlqa-run run`, tests, notebooks)."""
    from engine.train.loop import make_accelerator
    sink = sink or NullSink()
    output_dir = Path(output_dir)
    if cfg.train.stage == "evaluate":
        final = run_evaluate(cfg, cfg.model.source, sink, output_dir=output_dir)
        return StageResult(0, None, final)
    acc = accelerator or make_accelerator(cfg)
    records = training_records(cfg)
    if acc.is_main_process:
        run_sample(cfg, output_dir, sink, records)
    result = run_train(cfg, output_dir, sink, records, resume_from, acc, provenance)
    final = {}
    if acc.is_main_process and (cfg.eval.suites or cfg.eval.xlt_suites):
        final = run_evaluate(cfg, scored_checkpoint(cfg, output_dir), sink, result.global_step, acc.device,
                             trained_qids(records), output_dir)
    return StageResult(result.global_step, str(result.best_dir) if result.best_dir else None, final)
