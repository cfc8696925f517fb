"""Splitting SQL into statements (sqlparse) and finding its placeholders."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from vecron.errors import FinalError
from vecron_database.statements import bind_names, split, statements_of


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT 1", 1),
        ("SELECT 1;", 1),
        ("SELECT 1; -- the end", 1),
        ("/* head */ SELECT 1; /* tail */", 1),
        ("SELECT ';' AS semicolon", 1),
        ("SELECT 1; SELECT 2", 2),
        ("INSERT INTO t VALUES (1);\nDROP TABLE t;", 2),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql", 1),
        ("SELECT 1;;", 1),
    ],
)
def test_statement_count(sql: str, count: int) -> None:
    assert len(split(sql)) == count


@pytest.mark.parametrize("sql", ["", "   ", "-- nothing", "/* nothing */ ;"])
def test_no_statement_is_refused(sql: str) -> None:
    with pytest.raises(FinalError, match="no SQL statement"):
        statements_of(sql, multiple=True)


def test_several_statements_need_permission() -> None:
    with pytest.raises(FinalError, match="multiple_statements"):
        statements_of("SELECT 1; SELECT 2", multiple=False)
    assert [s.text for s in statements_of("SELECT 1; SELECT 2", multiple=True)] == [
        "SELECT 1;",
        "SELECT 2",
    ]


@pytest.mark.parametrize(
    ("sql", "query"),
    [
        ("SELECT 1", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("-- c\nselect 1", True),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", False),
        ("UPDATE t SET a = 1", False),
        ("CALL p()", False),
    ],
)
def test_queries_are_told_apart(sql: str, query: bool) -> None:
    assert split(sql)[0].is_query is query


def test_bind_names() -> None:
    assert bind_names(text("SELECT :a, :b_2 FROM t WHERE x = :a AND y = '10:30'")) == {"a", "b_2"}
