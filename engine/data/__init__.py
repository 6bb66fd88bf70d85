"""Loading QA data into one table: id, qid, lang_q, lang_c, title, question, context, answers."""

from engine.data.errors import DataError
from engine.data.records import RECORD_FEATURES, records_to_dataset, to_squad_json
from engine.data.loaders import load_path, load_squad_file, load_monolingual_folder, load_source
from engine.data.align import cross_lingual_cell, cross_lingual_cells

__all__ = [
    "DataError", "RECORD_FEATURES", "records_to_dataset", "to_squad_json", "load_path",
    "load_squad_file", "load_monolingual_folder", "load_source", "cross_lingual_cell", "cross_lingual_cells",
]
