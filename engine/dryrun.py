"""A dry run of a config: everything a run does before its first long step, nothing written.

Checks the config and its paths, samples the training data, builds the features, loads the model, runs
one micro-batch forward and backward through the stage's loss (the teacher pass too, when distilling),
and counts the questions of every evaluation suite. `xlqa-run run|launch CONFIG --dry-run` prints it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from engine.config import ExperimentConfig


@dataclass
class DryRunReport:
    examples: int
    pairs: dict[str, int]
    features: int
    answerless_features: float           # share of windows without the answer (their label is CLS)
    windows_per_example: float
    steps_per_epoch: int
    total_steps: int
    losses: dict[str, float]
    suites: dict[str, int] = field(default_factory=dict)   # suite -> questions x cells to score
    suite_languages: dict[str, list[str]] = field(default_factory=dict)  # suite -> its context languages
    dropped: int = 0                     # examples without a feature (features.labels = legacy)
    pair_modes: dict[str, dict[str, int]] = field(default_factory=dict)  # data.pairs mode -> pair -> examples
    mode: str = "all"                    # this config's data.pairs

    def mode_lines(self) -> list[str]:
        """Each data.pairs mode's examples and pairs, on the same draw of languages (* this config's)."""
        out = []
        for mode, pairs in self.pair_modes.items():
            counts = list(pairs.values())
            spread = f", {min(counts):,}-{max(counts):,} per pair" if counts else ""
            out.append(f"  {'*' if mode == self.mode else ' '} {mode:<17} {sum(counts):>9,} examples in "
                       f"{len(pairs)} language pairs{spread}")
        return out

    def lines(self) -> list[str]:
        out = [f"training examples   {self.examples:,} ({len(self.pairs)} language pairs: "
               + ", ".join(f"{p} {n}" for p, n in sorted(self.pairs.items())) + ")",
               *(["data.pairs modes    (the same languages drawn; * this config)"] + self.mode_lines()
                 if self.pair_modes else []),
               f"features            {self.features:,} ({self.windows_per_example:.2f} windows per example, "
               f"{100 * self.answerless_features:.1f}% without the answer"
               + (f"; {self.dropped:,} examples dropped: answer not among their whitespace words" if self.dropped
                  else "") + ")",
               f"optimizer steps     {self.steps_per_epoch:,} per epoch, {self.total_steps:,} in all",
               "one micro-batch     " + ", ".join(f"{k} {v:.4f}" for k, v in self.losses.items())]
        out += [f"evaluation {suite:<9} {n:,} question-cells"
                + (f" ({' '.join(self.suite_languages[suite])})" if self.suite_languages.get(suite) else "")
                for suite, n in self.suites.items()]
        return out


def pair_mode_counts(cfg: ExperimentConfig, table) -> dict[str, dict[str, int]]:
    """data.pairs mode -> 'q-c' -> the examples a run of that mode trains on (the same draw, the cap included);
    a mode the config cannot take (e.g. cross-only at ntl = 0) or that keeps no example is left out."""
    from engine.pipeline import select_records
    from engine.sampling import PAIRS, pair_counts
    out = {}
    for mode in PAIRS:
        try:
            records = select_records(cfg.replace(**{"data.pairs": mode}), table)
        except ValueError:
            continue
        out[mode] = {f"{q}-{c}": n for (q, c), n in pair_counts(records).items()}
    return out


def dry_run(cfg: ExperimentConfig) -> DryRunReport:
    from engine.features import tokenize
    from engine.losses import coefficient_per_example, step_loss
    from engine.modeling import load_model_and_tokenizer, parse_tiny
    from engine.pipeline import dev_records, select_records, tokenizer_texts, trained_qids, training_table
    from engine.sampling import pair_counts
    from engine.train.loop import steps_per_epoch
    from engine.train.teacher_cache import masked_logits

    tc, dc = cfg.train, cfg.distill
    table = training_table(cfg)
    records = select_records(cfg, table)
    modes = pair_mode_counts(cfg, table) if tc.stage == "distill" and cfg.data.sample else {}
    texts = tokenizer_texts(cfg, records) if parse_tiny(cfg.model.source) else None
    model, tokenizer = load_model_and_tokenizer(cfg.model.source, texts, seed=tc.seed, vocab_size=cfg.model.vocab_size)
    feats = tokenize(records, tokenizer, cfg.features, labels=True)
    micro = math.ceil(len(feats) / tc.batch_size)
    steps = steps_per_epoch(micro, tc.grad_accum, tc.epoch_tail)
    total = min(steps * tc.epochs, tc.max_steps) if tc.max_steps else steps * tc.epochs

    batch = feats.batch(list(range(min(tc.batch_size, len(feats)))))
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    model.train()
    out = model(**inputs)
    s = masked_logits(out.start_logits, batch["attention_mask"], tc.mask_padding_logits)
    e = masked_logits(out.end_logits, batch["attention_mask"], tc.mask_padding_logits)
    if tc.stage == "distill":
        with torch.no_grad():
            model.eval()
            t_out = model(**inputs)
            model.train()
        ts = masked_logits(t_out.start_logits, batch["attention_mask"], tc.mask_padding_logits)
        te = masked_logits(t_out.end_logits, batch["attention_mask"], tc.mask_padding_logits)
        coef = coefficient_per_example(dc.coefficient, ts, te, batch["start_positions"], batch["end_positions"],
                                       dc.k, dc.window, dc.temperature,
                                       batch["attention_mask"].bool() if tc.mask_padding_logits else None)
        parts = step_loss(s, e, batch, tc.stage, dc, (ts, te, coef))
    else:
        parts = step_loss(s, e, batch, tc.stage, dc)
    parts["loss"].backward()
    losses = {k: float(v.detach()) for k, v in parts.items()}
    if not all(math.isfinite(v) for v in losses.values()):
        raise ValueError(f"the first micro-batch gives a non-finite loss: {losses}")

    suites, languages = {}, {}
    trained = trained_qids(records)
    for suite, xlt_only in [(cfg.eval.dev, False)] * bool(cfg.eval.dev) + [(s, False) for s in cfg.eval.suites] \
            + [(s, True) for s in cfg.eval.xlt_suites]:
        table = dev_records(cfg, suite, trained, xlt_only)
        suites[suite] = len(table)
        found = set(table["lang_c"])
        languages[suite] = [l for l in cfg.eval.languages_of(suite, xlt_only) if l in found]
    return DryRunReport(
        examples=len(records), pairs={f"{q}-{c}": n for (q, c), n in pair_counts(records).items()},
        features=len(feats), answerless_features=float((feats.start_positions == 0).mean()) if len(feats) else 0.0,
        windows_per_example=len(feats) / max(1, len(records)), steps_per_epoch=steps, total_steps=total,
        losses=losses, suites=suites, suite_languages=languages, dropped=feats.dropped, pair_modes=modes,
        mode=cfg.data.pairs)
