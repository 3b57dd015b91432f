"""id checks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from server.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "id_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("exam_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "student_id",
            sa.Integer(),
            sa.ForeignKey("students.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("photo_file", sa.String(64), nullable=False),
        sa.Column("phash", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("ssim_score", sa.Float(), nullable=True),
        sa.Column("forgery_percent", sa.Float(), nullable=True),
        sa.Column("risk_percent", sa.Float(), nullable=False),
        sa.Column("risk_tier", sa.String(10), nullable=False),
        sa.Column("face_distance", sa.Float(), nullable=True),
        sa.Column("reused_by", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("heatmap_files", sa.JSON(), nullable=False),
    )
    op.create_index("ix_id_checks_session_id", "id_checks", ["session_id"])
    op.create_index("ix_id_checks_student_id", "id_checks", ["student_id"])
    op.create_index("ix_id_checks_phash", "id_checks", ["phash"])


def downgrade() -> None:
    op.drop_table("id_checks")
