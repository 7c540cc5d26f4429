"""Alembic's environment: the database from PGHOST/PGPORT/PGUSER/PGDATABASE."""
import os

from alembic import context
from sqlalchemy import create_engine

url = "postgresql+psycopg2://%s@/%s?host=%s&port=%s" % (
    os.environ.get("PGUSER", "postgres"), os.environ["PGDATABASE"],
    os.environ["PGHOST"], os.environ["PGPORT"])

with create_engine(url).connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
