"""The app's own commands in the command palette (ctrl+p): launch, open a run by id, compare the marked runs,
export and plot a run. Typing a number offers the commands for that run."""

from __future__ import annotations

import re
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class XlqaCommands(Provider):
    def _general(self):
        app = self.app
        return [("New experiment", "open the form and launch runs", app.action_new_experiment),
                ("Compare marked runs", "the marked runs side by side, with significance", app.action_compare_marked),
                ("Runs", "back to the list of runs", app.action_home),
                ("Start the scheduler", "run the queued jobs (when the scheduler died)", app.action_schedule)]

    def _for_run(self, run_id: int):
        app = self.app
        return [(f"Open run {run_id}", "its curves, mAP@k, pairs, log and system", partial(app.open_run, run_id)),
                (f"Matrix of run {run_id}", "the question x context F1 matrix", partial(app.open_matrix, run_id)),
                (f"Export run {run_id}", f"write run{run_id}.csv (long format) into the run's folder", partial(app.export_run, run_id)),
                (f"Plot run {run_id}", f"write run{run_id}.png (curves and F1 heatmap) into the run's folder", partial(app.plot_run, run_id))]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._general():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        commands = self._general()
        number = re.search(r"\d+", query)
        if number:
            commands = self._for_run(int(number.group())) + commands
        for name, help_text, callback in commands:
            score = matcher.match(name) if not number else max(matcher.match(name), 0.5 if number.group() in name else 0)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
