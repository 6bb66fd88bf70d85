"""One row of the runs table as plain text, shared by `xlqa-run list`, `xlqa --once` and the dashboard (which
adds its styles and bars): a run keeps one line, so a sweep's run shows its sweep's name and a compact grid
point rather than the long experiment name that spells the point out."""

from __future__ import annotations

ALERT_COLORS = {"info": "green", "warning": "yellow", "error": "red"}  # alert levels; a badge counts the last two
STATUS_COLORS = {"running": "yellow", "done": "green", "failed": "red", "lost": "red", "cancelled": "grey50",
                 "queued": "cyan"}
SHORT_KEYS = {"temperature": "T", "coefficient": "w", "learning_rate": "lr", "max_train_examples": "max", "seed": "s"}


def compact_point(point: str) -> str:
    """'data.ntl=1 distill.temperature=2 train.seed=3' -> 'ntl=1 T=2 s=3'."""
    out = []
    for item in point.split():
        key, _, value = item.partition("=")
        leaf = key.rsplit(".", 1)[-1]
        out.append(f"{SHORT_KEYS.get(leaf, leaf)}={value}")
    return " ".join(out)


def hparams(run: dict) -> str:
    cfg = run.get("config") or {}
    d, data = cfg.get("distill", {}), cfg.get("data", {})
    if run["kind"] == "teacher":
        return "CE"
    return f"{d.get('temperature', '')}/{data.get('ntl', '')}/{d.get('coefficient', '')}"


def run_row(run: dict) -> dict[str, str]:
    """id, experiment, point, kind, status, progress, hparams, score, alerts, started: each cell's text."""
    cfg = run.get("config") or {}
    point = cfg.get("grid_point") or ""
    experiment = run["experiment"]
    if point and cfg.get("sweep") and experiment == f"{cfg['sweep']} {point}":
        experiment = cfg["sweep"]  # the point has its own column
    score = run.get("score")
    if score is None:
        score = run.get("best_dev_gxlt_f1")
    return {"id": str(run["id"]), "experiment": experiment, "point": compact_point(point), "kind": run["kind"],
            "status": run["status"],
            "progress": f"{run.get('step') or 0}/{run['total_steps']}" if run.get("total_steps") else "",
            "hparams": hparams(run), "score": f"{score:.2f}" if score is not None else "",
            "alerts": f"{run['alerts']}!" if run.get("alerts") else "",
            "started": run["started_at"].strftime("%m-%d %H:%M") if run.get("started_at") else ""}
