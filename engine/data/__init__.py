"""Loading QA data into one table: id, qid, lang_q, lang_c, title, question, context, answers.

The names below are imported on first use: `datasets` (about 0.8 s) loads only when a table is made, so that
`engine.data.errors` and `xlqa-run --help` stay light.
"""

from importlib import import_module

from engine.data.errors import DataError

_LAZY = {
    "RECORD_FEATURES": "records", "records_to_dataset": "records", "to_squad_json": "records",
    "load_path": "loaders", "load_squad_file": "loaders", "load_monolingual_folder": "loaders",
    "load_source": "loaders", "load_hub": "hub", "cross_lingual_cell": "align", "cross_lingual_cells": "align",
}

__all__ = ["DataError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    value = getattr(import_module(f"engine.data.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
