"""Language codes the project knows, and the file-name spellings datasets use for them."""

MLQA_LANGUAGES = ("en", "es", "de", "ar", "hi", "vi", "zh")
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
TYDIQA_NAMES = {
    "arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id",
    "korean": "ko", "russian": "ru", "swahili": "sw", "telugu": "te",
}
KNOWN_LANGUAGES = frozenset(MLQA_LANGUAGES) | frozenset(XQUAD_LANGUAGES) | frozenset(TYDIQA_NAMES.values())


def check_language(code: str, where: str = "") -> str:
    """Return the code if known, else raise a ValueError that lists the valid codes."""
    if code not in KNOWN_LANGUAGES:
        suffix = f" in {where}" if where else ""
        raise ValueError(
            f"unknown language code {code!r}{suffix}; use one of: {', '.join(sorted(KNOWN_LANGUAGES))}"
        )
    return code


def parse_language_list(text: str | list[str] | tuple[str, ...], where: str = "languages") -> list[str]:
    """'en,es, de' -> ['en', 'es', 'de'], validated, order kept, duplicates removed."""
    items = text.split(",") if isinstance(text, str) else list(text)
    seen: list[str] = []
    for item in (i.strip() for i in items):
        if item and item not in seen:
            seen.append(check_language(item, where))
    if not seen:
        raise ValueError(f"{where}: no language given")
    return seen
