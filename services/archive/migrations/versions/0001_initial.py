"""The archive schema as create_all made it before migrations.

Frozen here, never imported from the models: the models move on, this
revision does not. shared.migrate adopts a database made by create_all by
comparing it with schema() below.

Revision ID: archive_0001
Revises:
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "archive_0001"
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
    sa.Table('case_files', metadata,
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('archive_number', sa.String(length=100), nullable=False),
        sa.Column('fonds', sa.String(length=50), nullable=False),
        sa.Column('fonds_name', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('case_type', sa.String(length=50), nullable=False),
        sa.Column('party', sa.String(length=200), nullable=False),
        sa.Column('party_detail', sa.JSON(), nullable=True),
        sa.Column('case_number', sa.String(length=100), nullable=True),
        sa.Column('secrecy', sa.String(length=10), nullable=True),
        sa.Column('filing_unit', sa.String(length=200), nullable=True),
        sa.Column('variant', sa.String(length=30), nullable=True),
        sa.Column('decision_number', sa.String(length=100), nullable=False),
        sa.Column('handling_unit', sa.String(length=200), nullable=False),
        sa.Column('opened_on', sa.Date(), nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=False),
        sa.Column('retention', sa.String(length=10), nullable=False),
        sa.Column('compiled_by', sa.String(length=100), nullable=True),
        sa.Column('checked_by', sa.String(length=100), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('override_reason', sa.Text(), nullable=True),
        sa.Column('checks_at_seal', sa.JSON(), nullable=True),
        sa.Column('seal_error', sa.String(length=500), nullable=True),
        sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sealed_by', sa.String(length=200), nullable=True),
        sa.Column('sealed_sha256', sa.String(length=64), nullable=True),
        sa.Column('sealed_bytes', sa.BigInteger(), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=True),
        sa.Column('ledger_seq', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('archive_number')
    )
    sa.Table('ledger', metadata,
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('case_file_id', sa.String(length=36), nullable=False),
        sa.Column('archive_number', sa.String(length=100), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('hash')
    )
    sa.Index('ix_ledger_sha256', metadata.tables['ledger'].c.sha256, unique=False)
    sa.Table('outbox', metadata,
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('task', sa.String(length=200), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('on_give_up', sa.String(length=200), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('runner', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    sa.Index('ix_outbox_state', metadata.tables['outbox'].c.state, unique=False)
    sa.Table('page_sessions', metadata,
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id_hash')
    )
    sa.Table('items', metadata,
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_file_id', sa.String(length=36), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('doc_type', sa.String(length=64), nullable=True),
        sa.Column('document_id', sa.String(length=36), nullable=True),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=True),
        sa.Column('refers_to', sa.String(length=100), nullable=True),
        sa.Column('signs_item_id', sa.String(length=36), nullable=True),
        sa.Column('caption', sa.JSON(), nullable=True),
        sa.Column('author', sa.String(length=200), nullable=True),
        sa.Column('date', sa.Date(), nullable=True),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('original_sha256', sa.String(length=64), nullable=False),
        sa.Column('original_bytes', sa.BigInteger(), nullable=False),
        sa.Column('registry_sha256', sa.String(length=64), nullable=True),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('duration_seconds', sa.Double(), nullable=True),
        sa.Column('inspection', sa.JSON(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('added_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['case_file_id'], ['case_files.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_file_id', 'document_id'),
        sa.UniqueConstraint('case_file_id', 'position')
    )
    sa.Index('ix_items_case_file_id', metadata.tables['items'].c.case_file_id, unique=False)
    return metadata


def upgrade() -> None:
    schema().create_all(op.get_bind())


def downgrade() -> None:
    schema().drop_all(op.get_bind())
