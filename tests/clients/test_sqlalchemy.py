"""SQLAlchemy 2 against ``immusql serve``, with the psycopg (3) and psycopg2 drivers: DDL with checkfirst, the ORM's
unit of work (RETURNING, exact row counts, stale-data detection) and the inspector, compared with PostgreSQL 15."""

from __future__ import annotations

import datetime
import decimal

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

DRIVERS = ("psycopg", "psycopg2")


class Base(DeclarativeBase):
    pass


book_tags = sa.Table(
    "book_tags", Base.metadata,
    sa.Column("book_id", sa.ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    email: Mapped[str | None] = mapped_column(sa.Text)
    joined: Mapped[datetime.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    books: Mapped[list[Book]] = relationship(back_populates="author", cascade="all, delete-orphan", order_by="Book.id")


class Book(Base):
    __tablename__ = "books"
    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="price_nonneg"),
        sa.UniqueConstraint("author_id", "title", name="uq_author_title"),
        sa.Index("ix_books_title", "title"),
        sa.Index("ix_books_published_desc", sa.text("published DESC")),
    )
    __mapper_args__ = {"eager_defaults": True}
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("authors.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    price: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    published: Mapped[datetime.date | None]
    in_print: Mapped[bool] = mapped_column(server_default=sa.true())
    copies: Mapped[int] = mapped_column(sa.SmallInteger, server_default=sa.text("0"))
    author: Mapped[Author] = relationship(back_populates="books")
    tags: Mapped[list[Tag]] = relationship(secondary=book_tags, order_by="Tag.name")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    weight: Mapped[float] = mapped_column(sa.Float, default=1.0)


def _sqlstate(error: sa.exc.DBAPIError) -> str:
    """The SQLSTATE of a driver's error (psycopg's ``sqlstate``, psycopg2's ``pgcode``)."""
    return getattr(error.orig, "sqlstate", None) or error.orig.pgcode


def _fresh_database(conn: psycopg.Connection, name: str) -> None:
    conn.execute(f"DROP DATABASE IF EXISTS {name}")
    conn.execute(f"CREATE DATABASE {name}")


@pytest.fixture(scope="module", params=DRIVERS)
def driver(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def engine(server, driver):
    """An engine on a database of its own in ``immusql serve``, with the schema created."""
    name = f"sa_{driver}"
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        _fresh_database(admin, name)
    url = sa.URL.create(f"postgresql+{driver}", username=server.user, password=server.password, host=server.host,
                        port=server.port, database=name)
    engine = sa.create_engine(url, pool_size=2)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def oracle_engine(pg, driver):
    """The same schema in a database of PostgreSQL 15."""
    name = f"sa_{driver}"
    _fresh_database(pg, name)
    info = pg.info
    url = sa.URL.create(f"postgresql+{driver}", username=info.user, host=info.host, port=info.port, database=name)
    engine = sa.create_engine(url, pool_size=2)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A Session on empty tables."""
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE book_tags, books, tags, authors")
    with orm.Session(engine) as session:
        yield session


def _statements(engine: sa.Engine) -> tuple[list[str], object]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen, record


def _library(session: orm.Session) -> Author:
    scifi, utopia, fantasy = Tag(name="scifi"), Tag(name="utopia"), Tag(name="fantasy")
    author = Author(name="Ursula K. Le Guin", email="ursula@example.org")
    author.books = [
        Book(title="The Dispossessed", price=decimal.Decimal("9.99"), published=datetime.date(1974, 5, 1), tags=[utopia, scifi]),
        Book(title="A Wizard of Earthsea", price=decimal.Decimal("7.50"), published=datetime.date(1968, 11, 1), tags=[fantasy]),
        Book(title="The Lathe of Heaven", price=None, published=None, tags=[scifi]),
    ]
    session.add(author)
    session.add(Author(name="Stanisław Lem"))
    session.commit()
    return author


def test_engine_connects_and_the_dialect_initializes(engine) -> None:
    with engine.connect() as conn:
        assert conn.dialect.server_version_info[0] == 15
        assert conn.execute(sa.select(sa.func.current_database(), sa.literal(41) + 1)).one() == (engine.url.database, 42)
        assert conn.dialect.default_schema_name == "public"


def test_create_all_again_only_checks_the_catalog(engine) -> None:
    seen, record = _statements(engine)
    try:
        Base.metadata.create_all(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen, "create_all sent no catalog query"
    assert not [s for s in seen if s.lstrip().upper().startswith(("CREATE", "ALTER"))]
    assert all("pg_catalog" in s for s in seen)
    assert sorted(sa.inspect(engine).get_table_names()) == ["authors", "book_tags", "books", "tags"]


def test_orm_inserts_return_keys_and_server_defaults(session) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    author = _library(session)
    ids = [book.id for book in author.books]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    assert all(book.in_print is True and book.copies == 0 for book in author.books)  # eager_defaults: via RETURNING
    assert author.joined.tzinfo is not None and abs(author.joined - before) < datetime.timedelta(minutes=5)
    session.expunge_all()
    loaded = session.scalars(sa.select(Author).where(Author.name.like("Ursula%")).options(selectinload(Author.books).selectinload(Book.tags))).one()
    assert loaded.id == author.id and loaded.email == "ursula@example.org"
    assert [(b.title, b.price, b.published) for b in loaded.books] == [
        ("The Dispossessed", decimal.Decimal("9.99"), datetime.date(1974, 5, 1)),
        ("A Wizard of Earthsea", decimal.Decimal("7.50"), datetime.date(1968, 11, 1)),
        ("The Lathe of Heaven", None, None),
    ]
    assert [[t.name for t in b.tags] for b in loaded.books] == [["scifi", "utopia"], ["fantasy"], ["scifi"]]
    tag_ids = session.scalars(sa.select(Tag.id).order_by(Tag.id)).all()
    assert len(tag_ids) == 3 and all(isinstance(i, int) for i in tag_ids)
    counts = session.execute(sa.select(Tag.name, sa.func.count(book_tags.c.book_id)).join(book_tags).group_by(Tag.name).order_by(Tag.name)).all()
    assert counts == [("fantasy", 1), ("scifi", 2), ("utopia", 1)]
    joined = session.execute(sa.select(Book.title, Author.name).join(Book.author).where(Book.price > 8)).all()
    assert joined == [("The Dispossessed", "Ursula K. Le Guin")]


def test_updates_and_deletes_report_exact_row_counts(session) -> None:
    author = _library(session)
    first = author.books[0]
    first.price = decimal.Decimal("11.25")
    session.commit()
    assert session.scalar(sa.select(Book.price).where(Book.id == first.id)) == decimal.Decimal("11.25")

    result = session.execute(sa.update(Book).where(Book.price.is_not(None)).values(copies=Book.copies + 3))
    assert result.rowcount == 2
    result = session.execute(sa.update(Book).where(Book.title == "no such book").values(copies=1))
    assert result.rowcount == 0
    returned = session.execute(sa.update(Book).where(Book.published < datetime.date(1970, 1, 1)).values(in_print=False)
                               .returning(Book.title, Book.in_print, Book.copies)).all()
    assert returned == [("A Wizard of Earthsea", False, 3)]
    session.commit()

    deleted = session.execute(sa.delete(Book).where(Book.published.is_(None)).returning(Book.title)).scalars().all()
    assert deleted == ["The Lathe of Heaven"]
    session.commit()
    session.expire_all()
    assert [b.title for b in author.books] == ["The Dispossessed", "A Wizard of Earthsea"]
    assert session.scalar(sa.select(sa.func.count()).select_from(book_tags)) == 3  # ON DELETE CASCADE took its tag row

    session.delete(author)  # ORM cascade: the books, their association rows, then the author
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Book)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(book_tags)) == 0
    assert session.scalars(sa.select(Author.name)).all() == ["Stanisław Lem"]


def test_updating_a_row_deleted_by_someone_else_is_stale_data(session, engine) -> None:
    author = _library(session)
    book = author.books[1]
    with engine.begin() as other:
        assert other.execute(sa.delete(Book).where(Book.id == book.id)).rowcount == 1
    book.price = decimal.Decimal("1.00")
    with pytest.raises(orm.exc.StaleDataError, match=r"expected to update 1 row\(s\); 0 were matched"):
        session.flush()
    session.rollback()


def test_constraint_violations_raise_integrity_errors(session) -> None:
    _library(session)
    author_id = session.scalar(sa.select(Author.id).where(Author.name == "Stanisław Lem"))
    session.add(Book(author_id=author_id, title="Solaris", price=decimal.Decimal("-1")))
    with pytest.raises(sa.exc.IntegrityError) as caught:
        session.commit()
    assert _sqlstate(caught.value) == "23514" and "price_nonneg" in str(caught.value.orig)
    session.rollback()
    session.add(Author(name="Stanisław Lem"))
    with pytest.raises(sa.exc.IntegrityError) as caught:
        session.commit()
    assert _sqlstate(caught.value) == "23505" and "authors_name_key" in str(caught.value.orig)
    session.rollback()
    session.add(Book(author_id=987654, title="Orphan"))
    with pytest.raises(sa.exc.IntegrityError) as caught:
        session.commit()
    assert _sqlstate(caught.value) == "23503" and "books_author_id_fkey" in str(caught.value.orig)
    session.rollback()


def test_many_rows_in_one_flush(session) -> None:
    """insertmanyvalues: the ORM batches INSERT ... VALUES (...), (...) RETURNING and matches keys to objects."""
    tags = [Tag(name=f"tag{i:03d}", weight=i / 4) for i in range(250)]
    session.add_all(tags)
    session.commit()
    assert len({t.id for t in tags}) == 250
    assert session.execute(sa.select(Tag.name, Tag.weight).where(Tag.id == tags[137].id)).one() == ("tag137", 34.25)
    assert session.execute(sa.delete(Tag).where(Tag.weight >= 50)).rowcount == 50
    session.commit()
    assert session.scalar(sa.select(sa.func.count(Tag.id))) == 200


def _reflected(engine: sa.Engine) -> dict[str, dict[str, object]]:
    """What the inspector says about every table, in a form that compares across servers."""
    inspector = sa.inspect(engine)
    out: dict[str, dict[str, object]] = {}
    for table in sorted(inspector.get_table_names()):
        columns = [{**c, "type": repr(c["type"])} for c in inspector.get_columns(table)]
        out[table] = {
            "columns": columns,
            "pk": inspector.get_pk_constraint(table),
            "fks": inspector.get_foreign_keys(table),
            "indexes": sorted(inspector.get_indexes(table), key=lambda i: i["name"]),
            "uniques": sorted(inspector.get_unique_constraints(table), key=lambda u: u["name"]),
            "checks": inspector.get_check_constraints(table),
        }
    return out


def test_inspector_matches_postgres(engine, oracle_engine) -> None:
    ours, theirs = _reflected(engine), _reflected(oracle_engine)
    assert sorted(ours) == ["authors", "book_tags", "books", "tags"]
    for table in theirs:
        for aspect, expected in theirs[table].items():
            assert ours[table][aspect] == expected, (table, aspect)


def test_reflecting_a_table_round_trips(engine, oracle_engine) -> None:
    """Table(..., autoload_with=engine) builds the same Table, and its CREATE statement is PostgreSQL's."""
    from sqlalchemy.schema import CreateTable

    ours = sa.Table("books", sa.MetaData(), autoload_with=engine)
    theirs = sa.Table("books", sa.MetaData(), autoload_with=oracle_engine)
    assert str(CreateTable(ours).compile(engine)) == str(CreateTable(theirs).compile(oracle_engine))
    assert [c.name for c in ours.primary_key] == ["id"]
    assert {fk.target_fullname for fk in ours.foreign_keys} == {"authors.id"}
