"""Every key binding of the app in one place (the help screen lists them)."""

from textual.binding import Binding

APP = [
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("ctrl+q", "quit", "Quit"),
]
RUNS = [
    Binding("n", "new", "New"),
    Binding("enter", "open", "Open", show=False),
    Binding("m", "matrix", "Matrix"),
    Binding("space", "mark", "Mark", show=False),
    Binding("c", "compare", "Compare"),
    Binding("x", "cancel_run", "Cancel"),
    Binding("r", "resume_run", "Resume"),
    Binding("d", "delete_run", "Delete"),
    Binding("y", "copy_config", "Copy cfg"),
    Binding("slash", "filter", "Filter", key_display="/"),
    Binding("f", "status_filter", "Status", show=False),
    Binding("s", "sort", "Sort", show=False),
    Binding("S", "reverse", "Reverse", show=False),
    Binding("greater_than_sign", "next_page", "Next page", key_display=">", show=False),
    Binding("less_than_sign", "prev_page", "Prev page", key_display="<", show=False),
]
BACK = Binding("escape", "back", "Back")  # every screen but the runs list
NEW = [
    Binding("ctrl+s", "launch", "Launch"),
    Binding("ctrl+w", "save_toml", "Save TOML"),
    BACK,
]
DETAIL = [
    Binding("m", "matrix", "Matrix"),
    Binding("x", "cancel_run", "Cancel"),
    BACK,
]
MATRIX = [
    Binding("e", "toggle_metric", "F1/EM"),
    Binding("s", "next_suite", "Suite"),
    Binding("d", "delta", "Delta vs run"),
    BACK,
]
COMPARE = [
    Binding("o", "toggle_only_diff", "Only diffs"),
    BACK,
]
HELP_TEXT = {  # screen -> bindings, for the help screen
    "Everywhere": APP + [BACK, Binding("ctrl+p", "command_palette", "Command palette")],
    "Runs": RUNS, "New experiment": NEW, "Run detail": DETAIL, "Matrix": MATRIX, "Compare": COMPARE,
}
