"""A one-line checkbox whose state shows as a glyph ([✓] / [ ]), readable without colour."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class GlyphCheckbox(Checkbox):
    DEFAULT_CSS = """
    GlyphCheckbox { border: none; height: 1; padding: 0 1 0 0; background: transparent; width: auto; }
    GlyphCheckbox:focus { text-style: bold reverse; }
    """

    @property
    def _button(self) -> Content:
        return Content.from_markup("[b]\\[✓][/b]" if self.value else "[ ]")
