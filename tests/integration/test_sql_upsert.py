"""One upsert for SQLite and Postgres: insert, update on conflict, insert-if-absent."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.sql import make_engine, normalise_url, upsert


def test_driver_choice() -> None:
    assert normalise_url("postgresql://u@h/d").startswith("postgresql+psycopg://")
    assert normalise_url("mariadb://root@h/d").startswith("mysql+pymysql://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_upsert_round_trip(db_url: str) -> None:
    meta = sa.MetaData()
    table = sa.Table("people", meta, sa.Column("id", sa.String, primary_key=True), sa.Column("name", sa.String),
                     sa.Column("score", sa.Integer))
    engine = make_engine(db_url)
    meta.create_all(engine)
    with engine.begin() as conn:
        upsert(conn, table, [{"id": "a", "name": "王伟", "score": 1}, {"id": "b", "name": "Emily", "score": 2}], ["id"])
        upsert(conn, table, [{"id": "a", "name": "王伟", "score": 9}], ["id"])
        upsert(conn, table, [{"id": "b", "name": "changed", "score": 0}], ["id"], update=[])
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(table.c.id, table.c.score)).all())
        names = dict(conn.execute(sa.select(table.c.id, table.c.name)).all())
    engine.dispose()
    assert rows == {"a": 9, "b": 2}
    assert names["b"] == "Emily"
