"""Vectorized best_spans vs the classic n-best loop on the same 8,000 features (384 tokens each).

    python benchmarks/bench_decode.py [--features 8000]
Prints both times (best of N runs) and the speedup; checks the answers are identical."""

import argparse
import timeit

import numpy as np

from engine.decode import best_spans, best_spans_loop


def make_features(n: int, length: int = 384, seed: int = 0):
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((n, length)).astype(np.float32)
    E = rng.standard_normal((n, length)).astype(np.float32)
    off = np.full((n, length, 2), -1, np.int32)
    q_len = rng.integers(8, 40, n)
    for f in range(n):  # question + [SEP] first, then a context window filling the rest
        k = np.arange(length - q_len[f] - 3)
        off[f, q_len[f] + 2:length - 1, 0] = 6 * k
        off[f, q_len[f] + 2:length - 1, 1] = 6 * k + 5
    example_ids = [f"q{f // 2}" for f in range(n)]  # two windows per example (doc stride)
    context = "lorem " * length
    return S, E, off, example_ids, {e: context for e in dict.fromkeys(example_ids)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    case = make_features(args.features)
    assert best_spans(*case) == best_spans_loop(*case), "vectorized answers differ from the loop"
    t_vec = min(timeit.repeat(lambda: best_spans(*case), number=1, repeat=args.repeat))
    t_loop = min(timeit.repeat(lambda: best_spans_loop(*case), number=1, repeat=2))
    print(f"features={args.features}  n_best=20  max_answer_length=30")
    print(f"classic loop     {t_loop * 1000:9.1f} ms")
    print(f"best_spans       {t_vec * 1000:9.1f} ms")
    print(f"speedup          {t_loop / t_vec:9.1f}x  (answers identical)")


if __name__ == "__main__":
    main()
