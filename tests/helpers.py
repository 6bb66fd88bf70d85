"""Small configs shared by the training, store and job tests (engine.testing, so benchmarks can use them)."""

import numpy as np

from engine.testing import tiny_config

__all__ = ["scored_evaluate_run", "tiny_config"]


def scored_evaluate_run(store, name, temperature, seed, shift, questions=30, ntl=2, langs=("en", "de", "ar")):
    """An evaluate run with cells and per-question scores, as the evaluate job writes them."""
    exp = store.create_experiment(name)
    config = {"name": name, "distill": {"temperature": temperature}, "train": {"seed": seed}, "data": {"ntl": ntl}}
    run = store.create_run(exp, "evaluate", config, seed=seed, output_dir=f"/nonexistent/{name}")
    rng = np.random.default_rng(seed * 100 + int(temperature) + 7 * ntl)
    cells = []
    for lq in langs:
        for lc in langs:
            scores = [(f"q{i}", float(v > 0.5), float(v)) for i, v in
                      enumerate(np.clip(rng.random(questions) * 0.8 + shift, 0, 1))]
            f1 = 100 * sum(s[2] for s in scores) / questions
            cells.append({"checkpoint": "best", "lang_q": lq, "lang_c": lc, "n": questions,
                          "exact_match": 100 * sum(s[1] for s in scores) / questions, "f1": f1, "questions": scores})
    from engine.jobs.store_sink import StoreSink
    sink = StoreSink(store, run, interval=3600)
    sink.log_eval(5, "mlqa-dev", cells)
    sink.close()
    store.finish(run, "done")
    return run

