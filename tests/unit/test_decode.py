import numpy as np
import pytest
import torch

from engine.decode import best_spans, best_spans_loop


def random_case(rng, F=300, L=64, dtype=np.float32, features_per_example=3):
    S = rng.standard_normal((F, L)).astype(dtype)
    E = rng.standard_normal((F, L)).astype(dtype)
    off = np.full((F, L, 2), -1, np.int32)
    for f in range(F):
        a = rng.integers(3, 20)
        b = rng.integers(a, L)
        k = np.arange(b - a)
        off[f, a:b, 0], off[f, a:b, 1] = k * 3, k * 3 + 2
    example_ids = [f"q{f // features_per_example}" for f in range(F)]
    contexts = {e: "".join(chr(65 + i % 50) for i in range(3 * L)) for e in dict.fromkeys(example_ids)}
    return S, E, off, example_ids, contexts


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_best, max_len", [(20, 30), (5, 3), (64, 64)])
def test_equals_classic_loop(seed, n_best, max_len):
    case = random_case(np.random.default_rng(seed))
    assert best_spans(*case, n_best=n_best, max_answer_length=max_len) == best_spans_loop(*case, n_best=n_best, max_answer_length=max_len)


def test_equals_loop_with_ties_in_half_precision():
    rng = np.random.default_rng(5)
    S, E, off, ids, ctx = random_case(rng, F=2000, dtype=np.float16)
    S = np.round(S * 2) / 2  # many exact ties
    E = np.round(E * 2) / 2
    assert best_spans(S, E, off, ids, ctx) == best_spans_loop(S, E, off, ids, ctx)


def test_accepts_torch_bf16():
    S, E, off, ids, ctx = random_case(np.random.default_rng(1), F=60)
    ours = best_spans(torch.from_numpy(S).bfloat16(), torch.from_numpy(E).bfloat16(), torch.from_numpy(off), ids, ctx)
    assert ours == best_spans_loop(torch.from_numpy(S).bfloat16().float().numpy(), torch.from_numpy(E).bfloat16().float().numpy(), off, ids, ctx)


def test_best_feature_wins_and_no_valid_span_is_empty():
    L = 8
    S = np.zeros((3, L), np.float32)
    E = np.zeros((3, L), np.float32)
    off = np.full((3, L, 2), -1, np.int32)
    off[:, 2:6, 0] = [0, 4, 8, 12]
    off[:, 2:6, 1] = [3, 7, 11, 15]
    S[0, 2], E[0, 3] = 1.0, 1.0   # 'aaa bbb' score 2
    S[1, 4], E[1, 4] = 3.0, 0.5   # 'ccc' score 3.5 in the second feature of the same example
    S[2, 0], E[2, 0] = 9.0, 9.0   # only CLS is good: still the top-n holds valid spans
    contexts = {"a": "aaa bbb ccc ddd", "b": "www xxx yyy zzz"}
    got = best_spans(S, E, off, ["a", "a", "b"], contexts)
    assert got["a"] == "ccc"
    assert got == best_spans_loop(S, E, off, ["a", "a", "b"], contexts)
    off[2] = -1
    got = best_spans(S, E, off, ["a", "a", "b"], contexts)
    assert got["b"] == ""
    assert got == best_spans_loop(S, E, off, ["a", "a", "b"], contexts)
