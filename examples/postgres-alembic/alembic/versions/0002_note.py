"""items.note: reversible (the column goes, the rows stay)"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT ''")


def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
