"""Small configs shared by the training, store and job tests (engine.testing, so benchmarks can use them)."""

import numpy as np

from engine.testing import tiny_config

__all__ = ["pg_database_url", "scored_evaluate_run", "tiny_config"]


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


def pg_database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the PostgreSQL server of `server_url` (XLQA_TEST_PG_URL), its host,
    socket and user kept."""
    from sqlalchemy.engine import make_url
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
