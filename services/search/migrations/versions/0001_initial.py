"""The search schema as create_all made it before migrations.

Frozen here, never imported from the models: the models move on, this
revision does not. shared.migrate adopts a database made by create_all by
comparing it with schema() below.

Revision ID: search_0001
Revises:
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "search_0001"
down_revision = None
branch_labels = None
depends_on = None


def schema() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table('audit_log', metadata,
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=100), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('hash')
    )
    sa.Table('decisions', metadata,
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('agency', sa.String(length=200), nullable=False),
        sa.Column('party', sa.String(length=200), nullable=False),
        sa.Column('party_kind', sa.String(length=20), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('publish_until', sa.Date(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('legal_basis', sa.JSON(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('disclosure', sa.JSON(), nullable=False),
        sa.Column('redactions', sa.JSON(), nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_reason', sa.String(length=500), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('number')
    )
    sa.Index('ix_decisions_decided_on', metadata.tables['decisions'].c.decided_on, unique=False)
    sa.Index('ix_decisions_status_until', metadata.tables['decisions'].c.status, metadata.tables['decisions'].c.publish_until, unique=False)
    sa.Table('sweep_runs', metadata,
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('day')
    )
    return metadata


def upgrade() -> None:
    schema().create_all(op.get_bind())


def downgrade() -> None:
    schema().drop_all(op.get_bind())
