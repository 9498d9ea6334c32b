"""Alembic migrations of the app's database schema.

:class:`geo.database.Database` applies them when it opens a database: it builds the Alembic
``Config`` in code (no ``alembic.ini``), points ``script_location`` at this package and hands
its connection to ``env.py`` in ``config.attributes["connection"]``. To write the next
migration, run ``alembic.command.revision(config, message, autogenerate=True)`` with such a
config and a connection to a database at head; ``script.py.mako`` is the template.
"""
