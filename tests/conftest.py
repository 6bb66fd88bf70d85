import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XLQA_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(f"the real datasets are expected at {SHARED_DATA} (set XLQA_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthetic_small():
    from engine.synthetic import generate
    return generate(40, seed=3)


@pytest.fixture(scope="session")
def tiny_tokenizer(synthetic_small):
    from engine.modeling import train_wordpiece
    return train_wordpiece(list(synthetic_small["context"]) + list(synthetic_small["question"]), vocab_size=2000)
