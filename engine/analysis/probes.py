"""Analyses that run a stored model again (evaluations store each question's top answer, not its n-best list,
nor logits): the n-best rank of the gold answer per question language, and the teacher's start-position
probabilities for one example at a temperature. A model is a checkpoint folder, or a run (its scored
checkpoint: a training run's best or final one, an evaluate run's model)."""

from __future__ import annotations

from pathlib import Path

from db.store import Store
from engine.config import ExperimentConfig, config_of_model
from engine.nbest import first_gold_rank, nbest_lists, rank_histogram, start_probabilities


def resolve_model(store: Store | None, target: str) -> tuple[Path, ExperimentConfig]:
    """(checkpoint folder, the config it was trained or scored with) of a folder or a run id."""
    from engine.config import from_dict
    from engine.pipeline import scored_checkpoint
    if not str(target).isdigit():
        folder = Path(target)
        if not folder.is_dir():
            raise ValueError(f"{target}: neither a run id nor a checkpoint folder")
        return folder, config_of_model(folder)
    run = store.get_run(int(target)) if store is not None else None
    if run is None:
        raise ValueError(f"no run {target}; `xlqa-run list` shows the runs")
    cfg = from_dict(run["config"])
    if run["kind"] == "evaluate" and cfg.train.stage == "evaluate":
        return Path(cfg.model.source), cfg
    if run["kind"] == "evaluate":
        run = store.get_run(run["depends_on"])
    if run is None or run["kind"] not in ("teacher", "distill"):
        raise ValueError(f"run {target} has no model: give a training or evaluate run, or a checkpoint folder")
    return scored_checkpoint(from_dict(run["config"]), run["output_dir"]), cfg


def _records(cfg: ExperimentConfig, suite: str, max_per_cell: int | None):
    from engine.pipeline import dev_records
    if max_per_cell is not None:
        cfg = cfg.replace(**{"eval.max_per_cell": max_per_cell})
    return dev_records(cfg, suite)


def nbest_ranks(model_dir: Path, cfg: ExperimentConfig, suite: str, n_best: int = 20,
                max_per_cell: int | None = None, device=None) -> dict:
    """At which rank of the model's n-best list the gold answer first appears (exact match after the suite's
    normalization), per question language: counts of rank 1..n and of 'not in the n-best'."""
    import torch

    from engine.evaluate import predict_logits, suite_scorer
    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_model_and_tokenizer(str(model_dir))
    model.to(device)
    records = _records(cfg, suite, max_per_cell)
    feats = tokenize(records, tokenizer, cfg.features, labels=False)
    start, end = predict_logits(model, feats, cfg.train.eval_batch_size, device)
    ids = list(records["id"])
    lists = nbest_lists(start.numpy(), end.numpy(), feats.padded_offsets(width=start.size(1)),
                        [ids[i] for i in feats.example_index], dict(zip(ids, records["context"])), n_best,
                        cfg.eval.max_answer_length)
    ranks = []
    for r in records:
        rank = first_gold_rank(lists[r["id"]], r["answers"]["text"], suite_scorer(suite, r["lang_c"]), r["lang_c"])
        ranks.append((r["id"], r["lang_q"], r["lang_c"], rank))
    return {"model": str(model_dir), "suite": suite, "n_best": n_best, "questions": len(ranks),
            "histogram": rank_histogram([(lq, rank) for _, lq, _, rank in ranks], n_best), "ranks": ranks}


def teacher_start_probs(model_dir: Path, cfg: ExperimentConfig, suite: str, example: str | int = 0,
                        temperature: float = 4.0, max_per_cell: int | None = None, device=None) -> dict:
    """softmax(start logits / T) over the context tokens of one example's feature holding its answer (the first
    feature when none does), with T = 1 beside it and the gold start marked. example: a record id or index."""
    import torch

    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer
    device = device or torch.device("cpu")
    model, tokenizer = load_model_and_tokenizer(str(model_dir))
    model.to(device).eval()
    records = _records(cfg, suite, max_per_cell)
    ids = list(records["id"])
    if str(example).isdigit() and str(example) not in ids:
        index = int(example)
        if index >= len(ids):
            raise ValueError(f"example {index}: suite {suite} has {len(ids)} examples here")
    elif str(example) in ids:
        index = ids.index(str(example))
    else:
        raise ValueError(f"no example {example!r} in suite {suite} (ids look like {ids[0]})")
    record = records.select([index])
    feats = tokenize(record, tokenizer, cfg.features, labels=True)
    f = next((i for i in range(len(feats)) if int(feats.start_positions[i]) > 0), 0)
    batch = {k: v.to(device) for k, v in feats.batch([f]).items()
             if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        logits = model(**batch).start_logits[0].float().cpu().numpy()
    context = feats.offsets[f][:, 0] >= 0
    tokens = tokenizer.convert_ids_to_tokens(feats.input_ids[f].tolist())
    gold = int(feats.start_positions[f])
    return {"model": str(model_dir), "suite": suite, "example": ids[index], "question": record[0]["question"],
            "answer": record[0]["answers"]["text"][0], "temperature": temperature,
            "positions": [int(i) for i in range(len(tokens)) if context[i]],
            "tokens": [t for t, c in zip(tokens, context) if c],
            "p_t": start_probabilities(logits, context, temperature)[context].tolist(),
            "p_1": start_probabilities(logits, context, 1.0)[context].tolist(),
            "gold": gold if gold > 0 and context[gold] else None}
