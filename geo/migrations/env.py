"""Alembic environment of the app's database: runs migrations on the caller's connection.

The caller (:meth:`geo.database.Database.upgrade`, or code that generates or checks migrations)
opens the connection, starts the transaction and commits it; the migrations run inside it.
"""

from alembic import context
from sqlalchemy.schema import SchemaItem

from geo import accounts, scenarios, store  # noqa: F401 - they map the tables
from geo.database import METADATA

#: Schema objects only the PostgreSQL schema has, which the ORM metadata leaves out on purpose:
#: the PostGIS point of a station, its indexes, and the table PostGIS itself creates.
POSTGIS_ONLY: frozenset[str] = frozenset(
    {"geom", "ix_stations_geom", "ix_stations_geog", "spatial_ref_sys"}
)

#: Alembic's own table, where it notes the revision the schema is at.
VERSION_TABLE: str = "alembic_version"


def include_object(item: SchemaItem, name: str | None, type_: str, reflected: bool,
                   compare_to: SchemaItem | None) -> bool:
    """Tell autogenerate which database objects to compare with the ORM's tables.

    Args:
        item: the schema object.
        name: its name.
        type_: ``"table"``, ``"column"``, ``"index"``, ...
        reflected: whether it was found in the database.
        compare_to: the metadata's object of that name, if any.

    Returns:
        False for the PostGIS-only objects and the version table (autogenerate only knows it
        by itself when its schema is left implicit), True otherwise.
    """
    return not (
        reflected and compare_to is None and (name in POSTGIS_ONLY or name == VERSION_TABLE)
    )


def run_migrations() -> None:
    """Run the migrations on ``config.attributes["connection"]``.

    The version table lives in the connection's default schema, with the tables: found through
    the search path in another schema, it would describe that schema's tables, not these.
    """
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        include_object=include_object,
        version_table=VERSION_TABLE,
        version_table_schema=connection.dialect.default_schema_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
