"""channels: chats know their channel, the outbox addresses messages by channel, updates are claimed per channel

- `chats`: a chat id's channel and address (Telegram and local chats keep their numbers as ids); filled from the
  chat ids already in tickets, conversations, the outbox, the ask log, owner chats and centres' staff groups.
- `outbox`: `channel`, `address` (the chat as its channel knows it), `reply_to`; `telegram_message_id` becomes
  `channel_message_id`; buttons are `api.contract` rows (`data` instead of Telegram's `callback_data`); the due
  index leads with the channel.
- `channel_updates` replaces `telegram_updates`: an update is recorded in the transaction that processed it, so
  there is no claim left "processing" by a process that died.
- `ask_logs.picked_entry_id`: the clarify candidate an owner chose.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import api.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

LOCAL_CHAT_MIN = 2**53


def _channel_of(chat_id: int) -> str:
    return 'local' if chat_id >= LOCAL_CHAT_MIN else 'telegram'


def _fill_chats() -> None:
    conn = op.get_bind()
    ids: set[int] = set()
    for table, column in (('tickets', 'chat_id'), ('conversations', 'chat_id'), ('outbox', 'chat_id'),
                          ('ask_logs', 'chat_id'), ('owner_chats', 'chat_id'), ('centers', 'telegram_chat_id')):
        ids.update(row[0] for row in conn.execute(sa.text(f'SELECT DISTINCT {column} FROM {table} '
                                                          f'WHERE {column} IS NOT NULL')))
    chats = sa.table('chats', sa.column('id', sa.BigInteger), sa.column('channel', sa.String),
                     sa.column('address', sa.String), sa.column('created_at', api.db.UTCDateTime(timezone=True)))
    now = api.db.utcnow()
    rows = [{'id': i, 'channel': _channel_of(i), 'address': str(i), 'created_at': now} for i in sorted(ids)]
    for start in range(0, len(rows), 1000):
        conn.execute(chats.insert(), rows[start:start + 1000])


def _convert_buttons() -> None:
    """``[[{"text", "callback_data"}]]`` → ``[[{"text", "data"}]]`` (links keep ``url``)."""
    conn = op.get_bind()
    outbox = sa.table('outbox', sa.column('id', sa.BigInteger), sa.column('buttons', sa.JSON))
    for row_id, buttons in conn.execute(sa.select(outbox.c.id, outbox.c.buttons).where(outbox.c.buttons.is_not(None))):
        if not isinstance(buttons, list):
            continue
        converted = [[{'text': b['text'], **({'url': b['url']} if b.get('url') else
                                             {'data': b.get('callback_data') or b.get('data')})}
                      for b in row] for row in buttons]
        if converted != buttons:
            conn.execute(outbox.update().where(outbox.c.id == row_id).values(buttons=converted))


def upgrade() -> None:
    op.create_table('chats',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chats')),
    sa.UniqueConstraint('channel', 'address', name=op.f('uq_chats_channel_address'))
    )
    _fill_chats()

    op.create_table('channel_updates',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('replies', sa.JSON(), nullable=True),
    sa.Column('processed_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'key', name=op.f('pk_channel_updates'))
    )
    with op.batch_alter_table('channel_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_updates_processed_at'), ['processed_at'], unique=False)
    op.drop_table('telegram_updates')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='telegram'))
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reply_to', sa.BigInteger(), nullable=True))
        batch_op.alter_column('telegram_message_id', new_column_name='channel_message_id')
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_due', ['channel', 'status', 'next_attempt_at'], unique=False)
    op.execute(f"UPDATE outbox SET channel = CASE WHEN chat_id >= {LOCAL_CHAT_MIN} THEN 'local' ELSE 'telegram' END, "
               "address = CAST(chat_id AS VARCHAR(200))")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('channel', server_default=None)
        batch_op.alter_column('address', server_default=None)
    _convert_buttons()

    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('picked_entry_id', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.drop_column('picked_entry_id')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.alter_column('channel_message_id', new_column_name='telegram_message_id')
        batch_op.drop_column('reply_to')
        batch_op.drop_column('address')
        batch_op.drop_column('channel')
    op.create_table('telegram_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_telegram_updates'))
    )
    with op.batch_alter_table('channel_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_updates_processed_at'))
    op.drop_table('channel_updates')
    op.drop_table('chats')
