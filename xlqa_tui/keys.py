"""Every key binding of the app in one place (the help screen lists them). Keys chosen not to fight the
text inputs: no ctrl+w/u/k/a/e/d/x/c/v (Input uses them); q quits from the runs list and goes back elsewhere,
as in htop and lazygit. b pins a run as the baseline of Compare and Matrix on every screen (b on it again:
unpin); the header names it."""

from textual.binding import Binding

APP = [
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("ctrl+q", "quit", "Quit", show=False),
]
RUNS = [
    Binding("enter", "open", "Open", show=False),
    Binding("slash", "filter", "Filter", key_display="/"),
    Binding("n", "new", "New"),
    Binding("m", "matrix", "Matrix"),
    Binding("space", "mark", "Mark", show=False),
    Binding("c", "compare", "Compare"),
    Binding("b", "pin", "Baseline"),
    Binding("x", "cancel_run", "Cancel"),
    Binding("r", "resume_run", "Resume", show=False),
    Binding("d", "delete_run", "Delete", show=False),
    Binding("y", "copy_config", "New from run", show=False),
    Binding("u", "unmark", "Unmark all", show=False),
    Binding("f", "status_filter", "Status", show=False),
    Binding("s", "sort", "Sort", show=False),
    Binding("S", "reverse", "Reverse", show=False),
    Binding("greater_than_sign", "next_page", "Next page", key_display=">", show=False),
    Binding("less_than_sign", "prev_page", "Prev page", key_display="<", show=False),
    Binding("q", "app.quit", "Quit"),  # a screen binding runs in the screen: the app quits
]
BACK = Binding("escape,q", "back", "Back", key_display="esc")  # every screen but the runs list
NEW = [
    Binding("ctrl+s", "launch", "Launch"),
    Binding("ctrl+t", "save_toml", "Save TOML"),
    Binding("escape", "back", "Back", key_display="esc"),     # q types a q into a field here
]
DETAIL = [
    Binding("m", "matrix", "Matrix"),
    Binding("b", "pin", "Baseline", show=False),
    Binding("x", "cancel_run", "Cancel"),
    Binding("k", "next_metric", "Metric"),
    Binding("e", "smooth", "Smooth", show=False),
    Binding("l", "log_scale", "Log hist", show=False),
    BACK,
]
MATRIX = [
    Binding("e", "toggle_metric", "F1/EM"),
    Binding("s", "next_suite", "Suite"),
    Binding("d", "delta", "Delta vs run"),
    Binding("b", "pin", "Baseline", show=False),
    BACK,
]
COMPARE = [
    Binding("o", "toggle_only_diff", "Only diffs"),
    Binding("k", "next_metric", "Curve"),
    BACK,
]

HELP_TEXT = {  # screen -> bindings, for the help screen
    "Everywhere": APP + [Binding("ctrl+q", "quit", "Quit"), Binding("ctrl+p", "command_palette", "Command palette")],
    "Runs": RUNS, "New experiment": NEW,
    "Run detail": DETAIL + [Binding("1-6", "tab", "Curves, mAP@k, pairs, log, system, alerts")],
    "Matrix": MATRIX, "Compare": COMPARE + [Binding("1-4", "tab", "Scores, config, curves, logs")],
}
