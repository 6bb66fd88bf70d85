"""Every kind of bad config file is a fixture file of its own (tests/data/bad_configs/, as harlequin keeps
them): its first line, `# error: <regex>`, is the fragment the ConfigError must carry. One test id a file."""

import re

import pytest

from engine.config import ConfigError, load_toml
from tests.conftest import FIXTURES

BAD_CONFIGS = sorted((FIXTURES / "bad_configs").glob("*.toml"))


def expected_error(path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# error: "), f"{path.name}: the first line must be '# error: <regex>'"
    return first.removeprefix("# error: ")


def test_there_are_bad_configs():
    assert len(BAD_CONFIGS) >= 15


@pytest.mark.parametrize("path", BAD_CONFIGS, ids=[p.stem for p in BAD_CONFIGS])
def test_a_bad_config_is_refused_naming_the_key(path):
    with pytest.raises(ConfigError) as refused:
        load_toml(path)
    assert re.search(expected_error(path), str(refused.value)), str(refused.value)
    assert "Traceback" not in str(refused.value)
