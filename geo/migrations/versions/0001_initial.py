"""The initial schema: stations, the store revision counter and the station history; on
PostgreSQL also PostGIS and the point of every station.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables; on PostgreSQL enable PostGIS and add the generated point ``geom``."""
    postgis = op.get_bind().dialect.name == "postgresql"
    if postgis:
        _create_postgis_extension()
    point = sa.Column(
        "geom",
        Geometry("POINT", srid=4326, spatial_index=False),
        sa.Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("union_name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("amenities", sa.JSON(), nullable=False),
        sa.Column("opening_hours", sa.String(300), nullable=False),
        sa.Column("phone", sa.String(60), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("smart_24h", sa.Boolean(), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *([point] if postgis else []),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_stations_region", "stations", ["region"])
    op.create_index("ix_stations_demo", "stations", ["demo"])
    op.create_index("ix_stations_lat_lon", "stations", ["lat", "lon"])
    if postgis:
        # The geometry index serves box queries on geom; the geography one serves
        # ST_DWithin(geom::geography, ...), the store's distance query.
        op.create_index("ix_stations_geom", "stations", ["geom"], postgresql_using="gist")
        op.create_index(
            "ix_stations_geog", "stations", [sa.text("(geom::geography)")],
            postgresql_using="gist",
        )

    revision_table = op.create_table(
        "store_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.bulk_insert(revision_table, [{"id": 1, "value": 0}])

    op.create_table(
        "station_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_station_history_station_id", "station_history", ["station_id"])


def downgrade() -> None:
    """Drop the tables (PostGIS stays installed: other schemas may use it)."""
    op.drop_table("station_history")
    op.drop_table("store_revision")
    op.drop_table("stations")


def _create_postgis_extension() -> None:
    """Enable PostGIS in the database.

    Raises:
        RuntimeError: the PostGIS extension is not installed on the server.
    """
    bind = op.get_bind()
    available = bind.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
    )
    if not available:
        major = int(bind.scalar(sa.text("SHOW server_version_num"))) // 10000
        raise RuntimeError(
            "PostGIS is not installed on the database server: "
            f"install postgresql-{major}-postgis-3"
        )
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
