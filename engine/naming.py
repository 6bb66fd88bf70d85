"""File-system-safe names for run folders and result files."""


def slug(text: str, replacement: str = "-") -> str:
    """Letters, digits, `-` and `_` kept; every other character replaced."""
    return "".join(ch if ch.isalnum() or ch in "-_" else replacement for ch in text)
