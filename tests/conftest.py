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


STORE_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("XLQA_TEST_PG_URL") else [])


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, and PostgreSQL when XLQA_TEST_PG_URL is set (CI sets it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'xlqa.db'}"
    from sqlalchemy import create_engine
    from db.models import Base
    url = os.environ["XLQA_TEST_PG_URL"]
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return url
