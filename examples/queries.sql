-- Queries over the xlqa results database (SQLite or PostgreSQL). Open it with:
--   sqlite3 ~/.local/share/xlqa/xlqa.db      or   psql "$XLQA_DB"

-- G-XLT F1 of every finished evaluation, by temperature and ntl (G-XLT over all 49 cells, as the paper's code)
-- (v_runs reads temperature and ntl through the experiment's config: a run row holds only its overrides)
SELECT v.run_id AS run, v.experiment, v.temperature, v.ntl,
       AVG(c.f1) AS gxlt_f1,
       AVG(CASE WHEN c.lang_q <> c.lang_c THEN c.f1 END) AS gxlt_cross_f1,
       AVG(CASE WHEN c.lang_q = c.lang_c THEN c.f1 END) AS xlt_f1
FROM v_runs v JOIN eval_cell c ON c.run_id = v.run_id
WHERE v.status = 'done' AND v.kind = 'evaluate' AND c.suite = 'mlqa-dev' AND c.checkpoint = 'best'
GROUP BY v.run_id, v.experiment, v.temperature, v.ntl
ORDER BY gxlt_f1 DESC;

-- Best dev G-XLT F1 of every training run, without scanning the metric table
SELECT r.id, r.kind, r.status, s.best_value AS best_dev_gxlt_f1, s.best_step
FROM run r JOIN metric_summary s ON s.run_id = r.id AND s.key = 'dev_gxlt_f1' AND s.context = ''
ORDER BY s.best_value DESC;

-- The loss curve of run 2
SELECT step, value FROM metric WHERE run_id = 2 AND key = 'loss' AND context = '' ORDER BY step;

-- The teacher's mean mAP@k per language pair, per generation, of run 2
SELECT generation, lang_q, lang_c, mean, n FROM pair_stat
WHERE run_id = 2 AND key = 'teacher_coef' ORDER BY generation, lang_q, lang_c;

-- Runs that failed, with the hint
SELECT id, kind, status, hint FROM run WHERE status IN ('failed', 'lost');

-- The same questions through the read-only views (`xlqa-run query "..."` runs them read-only):
-- G-XLT F1 of every finished evaluation by ntl and temperature, mean over seeds
SELECT ntl, temperature, coefficient, COUNT(*) AS seeds, AVG(gxlt_f1) AS gxlt_f1, AVG(xlt_f1) AS xlt_f1
FROM v_best_gxlt WHERE suite = 'mlqa-dev' GROUP BY ntl, temperature, coefficient ORDER BY gxlt_f1 DESC;

-- Every cell of run 6, XLT cells first
SELECT lang_q, lang_c, n, f1 FROM v_cells WHERE run_id = 6 ORDER BY same_language DESC, lang_q, lang_c;

-- The questions run 6 got right and run 9 got wrong (same cell), from the per-question scores
SELECT a.lang_q, a.lang_c, a.qid FROM v_question_scores a JOIN v_question_scores b
  ON b.run_id = 9 AND b.suite = a.suite AND b.lang_q = a.lang_q AND b.lang_c = a.lang_c AND b.qid = a.qid
WHERE a.run_id = 6 AND a.exact_match = 1 AND b.exact_match = 0;
