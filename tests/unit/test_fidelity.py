"""The options that reproduce the paper's official code: each changes exactly what it should."""

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from engine.config import load_toml
from engine.data import load_squad_file
from engine.decode import best_spans, best_spans_loop
from engine.features import FeatureConfig, tokenize
from engine.pipeline import dev_records, scored_checkpoint
from tests.conftest import REPO
from tests.helpers import tiny_config


def longest_context(fixture_data):
    records = load_squad_file(fixture_data / "mlqa/dev/dev-context-en-question-en.json.gz")
    return max(records, key=lambda r: len(r["context"]))


@pytest.mark.parametrize("mode", ["overlap", "step"])
def test_windows_match_a_hand_count_on_a_long_real_context(mode, fixture_data, tiny_tokenizer):
    record = longest_context(fixture_data)
    cfg = FeatureConfig(max_length=128, doc_stride=40, max_query_length=32, stride_mode=mode)
    feats = tokenize([record], tiny_tokenizer, cfg)
    q = min(len(tiny_tokenizer(record["question"].lstrip(), add_special_tokens=False)["input_ids"]), 32)
    doc = tiny_tokenizer(record["context"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    capacity = 128 - q - 3                                  # [CLS] question [SEP] context [SEP]
    advance = capacity - 40 if mode == "overlap" else 40    # tokens between two window starts
    expected = 1 + math.ceil(max(0, len(doc) - capacity) / advance)
    assert len(doc) > 3 * capacity and len(feats) == expected
    for w in range(len(feats)):                             # each window starts where the hand count says
        first = feats.offsets[w][feats.offsets[w][:, 0] >= 0][0]
        assert tuple(first) == tuple(doc[w * advance]) and feats.doc_start[w] == w * advance
    if mode == "step":  # the legacy windows: about twice as many as run_qa.py's for the same doc_stride
        overlap = tokenize([record], tiny_tokenizer, FeatureConfig(max_length=128, doc_stride=40, max_query_length=32))
        assert len(feats) > 1.5 * len(overlap)


def legacy_max_context(spans, index, position):
    """The legacy rule as written in the SQuAD feature code, on (start, length) spans."""
    best_score, best = None, None
    for i, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best = score, i
    return best == index


def test_max_context_mask_follows_the_legacy_rule(fixture_data, tiny_tokenizer):
    record = longest_context(fixture_data)
    feats = tokenize([record], tiny_tokenizer, FeatureConfig(max_length=128, doc_stride=40, max_query_length=32,
                                                             stride_mode="step"))
    mask = feats.max_context_mask()
    spans = [(int(feats.doc_start[w]), int((feats.offsets[w][:, 0] >= 0).sum())) for w in range(len(feats))]
    for w, (start, length) in enumerate(spans):
        first = int(np.argmax(feats.offsets[w][:, 0] >= 0))
        for j in range(length):
            assert mask[w, first + j] == legacy_max_context(spans, w, start + j)
        assert not mask[w, :first].any()                    # question and special tokens never
    # by hand: windows [0, 10) and [5, 15); token 7 ties (2.1 each) and the first window wins; token 8 is window 2's
    assert legacy_max_context([(0, 10), (5, 10)], 0, 7) and legacy_max_context([(0, 10), (5, 10)], 1, 8)
    assert mask.sum() == len({start + j for start, length in spans for j in range(length)})  # every token once


def test_max_context_decoding_equals_the_loop_and_can_change_the_answer():
    rng = np.random.default_rng(3)
    F, L = 60, 40
    S, E = rng.standard_normal((F, L)).astype(np.float32), rng.standard_normal((F, L)).astype(np.float32)
    off = np.full((F, L, 2), -1, np.int32)
    off[:, 5:35, 0] = np.arange(30) * 4
    off[:, 5:35, 1] = np.arange(30) * 4 + 3
    ids = [f"q{f // 3}" for f in range(F)]
    contexts = {i: "x" * 200 for i in dict.fromkeys(ids)}
    allowed = rng.random((F, L)) > 0.5
    fast = best_spans(S, E, off, ids, contexts, start_allowed=allowed)
    assert fast == best_spans_loop(S, E, off, ids, contexts, start_allowed=allowed)
    assert fast != best_spans(S, E, off, ids, contexts)


def test_unmasked_softmax_needs_max_length_padding_and_padding_changes_nothing_when_masked(tiny_tokenizer):
    # without max_length padding it is refused: tests/data/bad_configs/unmasked_softmax_without_max_length_padding.toml
    cfg = tiny_config("distill", train={"mask_padding_logits": False}, features={"padding": "max_length"})
    assert cfg.features.padding == "max_length"
    from engine.losses import ce_loss
    from engine.modeling import tiny_bert
    from engine.synthetic import generate
    from engine.train.teacher_cache import masked_logits
    records = generate(6, ["en"], seed=1)
    model = tiny_bert(len(tiny_tokenizer), 32, 1).eval()
    losses = {}
    for padding in ("dynamic", "max_length"):
        feats = tokenize(records, tiny_tokenizer, FeatureConfig(max_length=160, doc_stride=48, max_query_length=24,
                                                                padding=padding))
        b = feats.batch(range(len(feats)))
        assert b["input_ids"].shape[1] == (160 if padding == "max_length" else feats.lengths.max())
        with torch.no_grad():
            out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"])
        for mask in (True, False):
            s, e = masked_logits(out.start_logits, b["attention_mask"], mask), masked_logits(out.end_logits, b["attention_mask"], mask)
            losses[padding, mask] = ce_loss(s, e, b["start_positions"], b["end_positions"]).item()
    assert losses["dynamic", True] == pytest.approx(losses["max_length", True], rel=1e-5)
    assert losses["max_length", False] > losses["max_length", True] + 1e-3  # the padding takes probability mass


def test_exclude_trained_false_scores_the_trained_questions(fixture_data):
    from engine.data import load_path
    el = load_path(fixture_data / "xquad", ["el"])
    trained = frozenset(el["qid"])                    # every question, as when training on XQuAD in 7 languages
    base = dict(eval={"suites": [], "xlt_suites": ["xquad"], "xlt_languages": ["el"], "data_dir": str(fixture_data),
                      "max_per_cell": 0})
    with pytest.raises(ValueError, match="was in the training data"):
        dev_records(tiny_config("distill", **base), "xquad", trained, xlt_only=True)
    paper = tiny_config("distill", eval={**base["eval"], "exclude_trained": False})
    assert len(dev_records(paper, "xquad", trained, xlt_only=True)) == len(el) == 62


def test_eval_checkpoint_final_scores_the_final_model(tmp_path):
    (tmp_path / "best").mkdir()
    assert scored_checkpoint(tiny_config("distill"), tmp_path) == tmp_path / "best"
    assert scored_checkpoint(tiny_config("distill", eval={"checkpoint": "final"}), tmp_path) == tmp_path / "checkpoint"
    # an unknown checkpoint name is refused: tests/data/bad_configs/eval_checkpoint_unknown.toml


def test_the_paper_config_is_the_official_recipe(monkeypatch, tmp_path):
    monkeypatch.setenv("XLQA_DATA_DIR", str(tmp_path))  # its data.train is $XLQA_DATA_DIR/xquad
    cfg = load_toml(REPO / "examples/paper_xquad_to_mlqa.toml")
    t, f, d, e = cfg.train, cfg.features, cfg.distill, cfg.eval
    assert (t.learning_rate, t.warmup_ratio, t.weight_decay, t.batch_size, t.grad_accum, t.seed, t.precision) == \
        (5e-5, 0.0, 0.0, 6, 4, 3, "no")
    assert (f.max_length, f.doc_stride, f.max_query_length, f.stride_mode, f.padding) == (384, 128, 64, "step", "max_length")
    assert not t.mask_padding_logits and (d.temperature, d.kl_direction, d.coefficient, d.k, d.window) == (2.0, "forward", "map@k", 10, 5)
    assert (e.dev, e.checkpoint, e.exclude_trained, e.max_context, e.n_best, e.max_answer_length) == ("", "final", False, True, 20, 30)
    assert e.answer_text == "legacy" and e.suites == ["mlqa-dev", "mlqa-test"] and e.xlt_suites == ["xquad", "tydiqa"]
    assert e.languages_of("xquad", True) == ["el", "ru", "tr", "th"]
    assert e.languages_of("tydiqa", True) == ["bn", "fi", "id", "ko", "ru", "sw", "te"]
    assert e.languages_of("mlqa-test", False) == ["en", "es", "de", "ar", "hi", "vi", "zh"]
    assert (cfg.data.ntl, cfg.data.en_centric, cfg.data.pairs, t.epochs) == (5, True, "all", 3)
    recommended = load_toml(REPO / "examples/recommended_xquad_to_mlqa.toml")
    assert recommended.features.stride_mode == "overlap" and recommended.train.mask_padding_logits


@pytest.mark.slow  # a paper-sized model's dry run
def test_the_paper_config_dry_runs_on_local_files(fixture_data, monkeypatch):
    """tiny-bert stands in for mBERT; the XQuAD fixture for XQuAD; nothing is written."""
    from engine.cli import main
    monkeypatch.setenv("XLQA_DATA_DIR", str(fixture_data))  # the folder `data fetch` writes: data.train = its xquad/
    result = CliRunner().invoke(main, [
        "run", str(REPO / "examples/paper_xquad_to_mlqa.toml"), "--dry-run", "--set", "model.name=tiny-bert:64:2",
        "--set", f"eval.data_dir={fixture_data}",
        "--set", 'eval.suites=["mlqa-dev"]'])
    assert result.exit_code == 0, result.output
    assert "training examples   2,232 (49 language pairs" in result.output     # 62 questions x (1 + 5)^2
    assert "evaluation xquad     248 question-cells" in result.output          # el ru tr th, all 62 each
    assert "evaluation tydiqa    56 question-cells (bn fi id ko ru sw te)" in result.output  # 7 x 8 questions
    assert "nothing was queued or written" in result.output


def test_the_paper_config_scores_tydiqa_in_the_7_official_languages(full_data, monkeypatch):
    """scores.py's TyDiQA XLT: bn fi id ko ru sw te (en and ar left out): 3,716 of the 5,077 questions."""
    monkeypatch.setenv("XLQA_DATA_DIR", str(full_data))  # its data.train is $XLQA_DATA_DIR/xquad
    cfg = load_toml(REPO / "examples/paper_xquad_to_mlqa.toml", [f"eval.data_dir={full_data}"])
    tydi = dev_records(cfg, "tydiqa", xlt_only=True)
    assert len(tydi) == 3716
    assert sorted(set(tydi["lang_c"])) == ["bn", "fi", "id", "ko", "ru", "sw", "te"]
    assert len(dev_records(cfg, "xquad", xlt_only=True)) == 4 * 1190


def test_one_evaluation_config_scores_teacher_and_students_alike(monkeypatch, tmp_path):
    """examples/paper_eval.toml is the official test protocol; the student config evaluates with exactly it,
    and the teacher config leaves its evaluation to it (run_qa.py's training windows are not the protocol's)."""
    monkeypatch.setenv("XLQA_DATA_DIR", str(tmp_path))  # the student's data.train is $XLQA_DATA_DIR/xquad
    ev = load_toml(REPO / "examples/paper_eval.toml", ["model.init_from=/some/checkpoint"])
    student = load_toml(REPO / "examples/paper_xquad_to_mlqa.toml")
    teacher = load_toml(REPO / "examples/paper_teacher.toml")
    assert ev.train.stage == "evaluate" and ev.model.source == "/some/checkpoint"
    assert ev.eval == student.eval
    window = lambda f: (f.max_length, f.doc_stride, f.max_query_length, f.stride_mode)
    assert window(ev.features) == window(student.features) == (384, 128, 64, "step")
    assert (ev.eval.max_context, ev.eval.answer_text, ev.eval.n_best, ev.eval.max_answer_length) == (True, "legacy", 20, 30)
    assert not teacher.eval.suites and not teacher.eval.xlt_suites


@pytest.mark.slow  # trains, then evaluates
def test_the_evaluation_config_scores_a_checkpoint_end_to_end(tmp_path, fixture_data):
    """train.stage = evaluate on a tiny checkpoint: MLQA G-XLT and XLT, XQuAD XLT in el/ru/tr/th, TyDiQA XLT
    in the 7 (the fixtures have no MLQA-test)."""
    from engine.modeling import load_model_and_tokenizer
    from engine.pipeline import run_stage, tokenizer_texts
    from engine.testing import MemorySink
    texts = tokenizer_texts(tiny_config("teacher", eval={"languages": ["en"]}))
    texts += list(load_squad_file(fixture_data / "tydiqa/dev/korean_tydiqa_dev.json.gz")["context"])
    model, tok = load_model_and_tokenizer("tiny-bert:32:1", texts, seed=0, vocab_size=2000)
    model.save_pretrained(tmp_path / "ckpt")
    tok.save_pretrained(tmp_path / "ckpt")
    cfg = load_toml(REPO / "examples/paper_eval.toml", [f"model.init_from={tmp_path / 'ckpt'}",
                                                         f"eval.data_dir={fixture_data}", 'eval.suites=["mlqa-dev"]'])
    sink = MemorySink()
    final = run_stage(cfg, tmp_path / "out", sink).final
    assert set(final) == {"mlqa-dev", "xquad", "tydiqa"} and set(final["tydiqa"]) == {"xlt"}
    cells = {}
    for _, suite, cs in sink.evals:
        cells.setdefault(suite, set()).update((c["lang_q"], c["lang_c"]) for c in cs)
    assert len(cells["mlqa-dev"]) == 49
    assert cells["xquad"] == {(l, l) for l in ("el", "ru", "tr", "th")}
    assert cells["tydiqa"] == {(l, l) for l in ("bn", "fi", "id", "ko", "ru", "sw", "te")}
