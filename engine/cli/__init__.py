"""xlqa-run: the headless CLI over the engine and the results store, one module per command group.

Exit codes: 0 success, 1 a job or check failed, 2 bad usage or bad input (click's convention).
Commands parse, call a library function (engine.jobs, engine.analysis) and render (engine.cli.render)."""

from engine.cli.base import main  # its commands are imported from their modules when used (COMMAND_MODULES)

__all__ = ["main"]
