"""items.price computed from the name, name shortened: irreversible (the
long names are gone), so the step is marked reversible: false for it"""
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN price integer NOT NULL DEFAULT 0")
    op.execute("UPDATE items SET price = length(name), name = left(name, 8)")


def downgrade():
    raise RuntimeError("0003 cannot be downgraded: the long names are gone")
