-- Core schema: agents, customers, conversations, messages, read cursors, attachments.
-- PostgreSQL is the system of record; Redis only ever holds derived or ephemeral state.

CREATE TABLE teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_default  boolean NOT NULL DEFAULT false,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one default team.
CREATE UNIQUE INDEX teams_one_default ON teams (is_default) WHERE is_default;

CREATE TABLE agents (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email             text NOT NULL CHECK (position('@' IN email) > 1),
    display_name      text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role              text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'admin')),
    password_hash     text NOT NULL,
    max_chats         integer CHECK (max_chats IS NULL OR max_chats BETWEEN 0 AND 1000),
    is_active         boolean NOT NULL DEFAULT true,
    avatar_url        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_email_key ON agents (lower(email));

CREATE TABLE agent_teams (
    agent_id  uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    team_id   uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, team_id)
);
CREATE INDEX agent_teams_team ON agent_teams (team_id);

CREATE TABLE customers (
    id                 uuid PRIMARY KEY,
    external_id        text UNIQUE,
    name               text CHECK (name IS NULL OR length(name) <= 200),
    email              text CHECK (email IS NULL OR length(email) <= 320),
    attributes         jsonb NOT NULL DEFAULT '{}'::jsonb,
    identity_verified  boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id        uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    team_id            uuid REFERENCES teams (id) ON DELETE SET NULL,
    status             text NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'resolved', 'abandoned')),
    assigned_agent_id  uuid REFERENCES agents (id) ON DELETE SET NULL,
    -- Gap-free per-conversation message counter; bumped in the same transaction as the insert.
    last_seq           bigint NOT NULL DEFAULT 0,
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_message_at    timestamptz,
    first_response_at  timestamptz,
    resolved_at        timestamptz
);
CREATE INDEX conversations_customer ON conversations (customer_id, created_at DESC);
CREATE INDEX conversations_status_assignee
    ON conversations (status, assigned_agent_id, updated_at DESC, id DESC);
CREATE INDEX conversations_updated ON conversations (updated_at DESC, id DESC);

-- Agents who joined a conversation (besides its assignee).
CREATE TABLE conversation_participants (
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id         uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, agent_id)
);
CREATE INDEX conversation_participants_agent ON conversation_participants (agent_id);

CREATE TABLE messages (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              bigint NOT NULL CHECK (seq > 0),
    sender_kind      text NOT NULL CHECK (sender_kind IN ('customer', 'agent', 'assistant', 'system')),
    sender_id        uuid,
    client_id        text CHECK (client_id IS NULL OR length(client_id) BETWEEN 1 AND 100),
    body             text NOT NULL,
    visibility       text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal')),
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq)
);
-- A client-generated id is unique per sender: a retry finds the original instead of a duplicate.
CREATE UNIQUE INDEX messages_client_id
    ON messages (sender_kind, sender_id, client_id) NULLS NOT DISTINCT
    WHERE client_id IS NOT NULL;

-- How far each participant has received and read, per conversation.
CREATE TABLE read_cursors (
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reader_kind      text NOT NULL CHECK (reader_kind IN ('customer', 'agent')),
    reader_id        uuid NOT NULL,
    delivered_seq    bigint NOT NULL DEFAULT 0,
    read_seq         bigint NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, reader_kind, reader_id)
);

CREATE TABLE attachments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id       uuid REFERENCES messages (id) ON DELETE SET NULL,
    uploader_kind    text NOT NULL CHECK (uploader_kind IN ('customer', 'agent', 'assistant', 'system')),
    uploader_id      uuid,
    filename         text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type     text NOT NULL,
    size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
    storage_key      text NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_conversation ON attachments (conversation_id);
