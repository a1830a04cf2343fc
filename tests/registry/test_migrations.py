from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from iotgw.registry.models import Base
from sqlalchemy import Engine, inspect


def test_migrations_create_exactly_the_models_schema(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
