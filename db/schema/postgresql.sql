-- xlqa schema 0009_alerts (postgresql); made by `python -m db.migrate --dump`

CREATE TABLE experiment (
	id SERIAL NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	notes TEXT NOT NULL, 
	tags VARCHAR(500) NOT NULL, 
	config JSON, 
	config_hash VARCHAR(64), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_experiment_config_hash ON experiment (config_hash);

CREATE TABLE scheduler_lease (
	id SERIAL NOT NULL, 
	holder VARCHAR(200) NOT NULL, 
	pid INTEGER NOT NULL, 
	heartbeat_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE run (
	id SERIAL NOT NULL, 
	experiment_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	config JSON NOT NULL, 
	depends_on INTEGER, 
	devices VARCHAR(64) NOT NULL, 
	assigned_devices VARCHAR(64) NOT NULL, 
	pid INTEGER, 
	host VARCHAR(200) NOT NULL, 
	heartbeat_at TIMESTAMP WITHOUT TIME ZONE, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	started_at TIMESTAMP WITHOUT TIME ZONE, 
	ended_at TIMESTAMP WITHOUT TIME ZONE, 
	step INTEGER NOT NULL, 
	total_steps INTEGER NOT NULL, 
	cancel_requested BOOLEAN NOT NULL, 
	resume BOOLEAN NOT NULL, 
	error TEXT NOT NULL, 
	hint TEXT NOT NULL, 
	output_dir TEXT NOT NULL, 
	git_commit VARCHAR(64) NOT NULL, 
	versions JSON NOT NULL, 
	seed INTEGER NOT NULL, 
	attempt INTEGER DEFAULT '0' NOT NULL, 
	pgid INTEGER, 
	executor VARCHAR(16) DEFAULT 'local' NOT NULL, 
	external_id VARCHAR(64) DEFAULT '' NOT NULL, 
	sweep VARCHAR(200) DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_run_kind CHECK (kind IN ('sample', 'teacher', 'distill', 'evaluate')), 
	CONSTRAINT ck_run_status CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'lost')), 
	FOREIGN KEY(experiment_id) REFERENCES experiment (id) ON DELETE CASCADE, 
	FOREIGN KEY(depends_on) REFERENCES run (id) ON DELETE SET NULL
);

CREATE INDEX ix_run_status ON run (status);

CREATE INDEX ix_run_sweep ON run (sweep);

CREATE TABLE alert (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	level VARCHAR(16) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	text TEXT NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_alert_kind CHECK (kind IN ('loss_nonfinite', 'heartbeat_stale', 'run_lost', 'run_failed', 'coef_collapse', 'run_done', 'sweep_done')), 
	CONSTRAINT ck_alert_level CHECK (level IN ('info', 'warning', 'error')), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_alert_run ON alert (run_id);

CREATE TABLE artifact (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	path TEXT NOT NULL, 
	step INTEGER NOT NULL, 
	bytes INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE TABLE eval_cell (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	checkpoint VARCHAR(16) NOT NULL, 
	suite VARCHAR(64) NOT NULL, 
	split VARCHAR(16) NOT NULL, 
	lang_q VARCHAR(8) NOT NULL, 
	lang_c VARCHAR(8) NOT NULL, 
	n INTEGER NOT NULL, 
	exact_match FLOAT NOT NULL, 
	f1 FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_eval_cell_run_suite ON eval_cell (run_id, suite, step);

CREATE TABLE histogram (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	key VARCHAR(64) NOT NULL, 
	step INTEGER NOT NULL, 
	generation INTEGER, 
	bin_edges JSON NOT NULL, 
	counts JSON NOT NULL, 
	percentiles JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_histogram_run_key_step ON histogram (run_id, key, step);

CREATE TABLE metric (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	key VARCHAR(64) NOT NULL, 
	context VARCHAR(64) NOT NULL, 
	step INTEGER NOT NULL, 
	value FLOAT NOT NULL, 
	wall_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_metric_run_key_step ON metric (run_id, key, step);

CREATE TABLE metric_summary (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	key VARCHAR(64) NOT NULL, 
	context VARCHAR(64) NOT NULL, 
	last_step INTEGER NOT NULL, 
	last_value FLOAT NOT NULL, 
	best_value FLOAT NOT NULL, 
	best_step INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_metric_summary UNIQUE (run_id, key, context), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE TABLE pair_stat (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	generation INTEGER NOT NULL, 
	key VARCHAR(64) NOT NULL, 
	lang_q VARCHAR(8) NOT NULL, 
	lang_c VARCHAR(8) NOT NULL, 
	mean FLOAT NOT NULL, 
	n INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_pair_stat_run ON pair_stat (run_id, key, generation);

CREATE TABLE question_score (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	checkpoint VARCHAR(16) NOT NULL, 
	suite VARCHAR(64) NOT NULL, 
	lang_q VARCHAR(8) NOT NULL, 
	lang_c VARCHAR(8) NOT NULL, 
	qid VARCHAR(128) NOT NULL, 
	exact_match FLOAT NOT NULL, 
	f1 FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);

CREATE INDEX ix_question_score_eval ON question_score (run_id, suite, checkpoint, step);

CREATE TABLE run_cost (
	id SERIAL NOT NULL, 
	run_id INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	stage VARCHAR(16) NOT NULL, 
	seconds FLOAT NOT NULL, 
	devices INTEGER NOT NULL, 
	device_seconds FLOAT NOT NULL, 
	device VARCHAR(64) NOT NULL, 
	peak_device_gb FLOAT, 
	peak_host_gb FLOAT NOT NULL, 
	features INTEGER, 
	steps INTEGER, 
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_run_cost UNIQUE (run_id, attempt, stage), 
	FOREIGN KEY(run_id) REFERENCES run (id) ON DELETE CASCADE
);
