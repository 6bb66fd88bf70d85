"""The layers of docs/DESIGN: every import (module level or inside a function) points down or stays in its layer.

  xlqa_tui        engine.cli (render: the only rich outside the dashboard)
      engine.jobs   engine.analysis
  engine (computing modules)      db          <- neither imports the other
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
PACKAGES = ("engine", "db", "xlqa_tui")
PRESENTATION = ("rich", "textual", "textual_plotext")

# layer -> prefixes it must not import
FORBIDDEN = {
    "computing": ("db", "engine.jobs", "engine.analysis", "engine.cli", "xlqa_tui") + PRESENTATION,
    "db": ("engine", "xlqa_tui") + PRESENTATION,
    "analysis": ("engine.jobs", "engine.cli", "xlqa_tui") + PRESENTATION,
    "jobs": ("engine.cli", "xlqa_tui") + PRESENTATION,
    "cli": ("xlqa_tui", "textual", "textual_plotext"),
    "tui": ("engine.cli.base", "engine.cli.data", "engine.cli.runs", "engine.cli.results", "engine.cli.db"),
}


def layer_of(module: str) -> str:
    for prefix, layer in (("engine.jobs", "jobs"), ("engine.analysis", "analysis"), ("engine.cli", "cli"),
                          ("engine", "computing"), ("db", "db"), ("xlqa_tui", "tui")):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise ValueError(module)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement in the file, wherever it sits."""
    out = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]  # `from engine.cli import render`
    return out


def violations(root: Path = REPO) -> list[str]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path, root)
            layer = layer_of(module)
            for line, imported in imports_of(path, module):
                for bad in FORBIDDEN[layer]:
                    if imported == bad or imported.startswith(bad + "."):
                        found.setdefault((str(path.relative_to(root)), line), f"{layer} module {module} imports {imported}")
    return [f"{path}:{line}: {what}" for (path, line), what in sorted(found.items())]


def test_every_import_points_down_or_sideways_within_its_layer():
    assert violations() == []


def test_the_check_sees_a_bad_import_anywhere(tmp_path):
    """A store module reaching into the engine, a computing module into the jobs (inside a function), and
    analysis importing rich are each reported."""
    for package, name, text in (("db", "store.py", "from engine.cancel import request\n"),
                                ("engine", "features.py", "def f():\n    from engine.jobs import worker\n"),
                                ("engine/analysis", "tables.py", "import rich.table\n"),
                                ("xlqa_tui", "app.py", "from engine.cli.render.runs import runs_table\n")):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / name).write_text(text)
    found = violations(tmp_path)
    assert [f.split(":")[0] for f in found] == ["db/store.py", "engine/analysis/tables.py", "engine/features.py"]
