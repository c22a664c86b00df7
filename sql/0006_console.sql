-- The agent console and admin pages: quick responses, the admin audit log, and settings that
-- admins override at run time (the environment supplies the defaults).

CREATE TABLE quick_responses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- global: every agent; team: the team's agents; personal: its owner only.
    scope           text NOT NULL CHECK (scope IN ('global', 'team', 'personal')),
    team_id         uuid REFERENCES teams (id) ON DELETE CASCADE,
    owner_agent_id  uuid REFERENCES agents (id) ON DELETE CASCADE,
    shortcut        text NOT NULL CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_by      uuid REFERENCES agents (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (scope = 'global' AND team_id IS NULL AND owner_agent_id IS NULL)
        OR (scope = 'team' AND team_id IS NOT NULL AND owner_agent_id IS NULL)
        OR (scope = 'personal' AND owner_agent_id IS NOT NULL AND team_id IS NULL)
    ),
    -- A shortcut is unique within its scope: globally, per team, per agent.
    CONSTRAINT quick_responses_shortcut_key
        UNIQUE NULLS NOT DISTINCT (scope, team_id, owner_agent_id, shortcut)
);
CREATE INDEX quick_responses_team ON quick_responses (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX quick_responses_owner ON quick_responses (owner_agent_id)
    WHERE owner_agent_id IS NOT NULL;

-- Who changed what, when: one row per admin change, written in the change's transaction.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     uuid REFERENCES agents (id) ON DELETE SET NULL,
    -- Kept as written, so the log still reads right after the account is renamed or deleted.
    actor_name   text NOT NULL,
    action       text NOT NULL,
    target_kind  text NOT NULL,
    target_id    text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_time ON audit_log (created_at DESC, id DESC);

-- Admin overrides of environment settings, one JSON document per area (e.g. 'widget').
CREATE TABLE settings (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    value       jsonb NOT NULL,
    updated_by  uuid REFERENCES agents (id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Reports read conversations by creation time.
CREATE INDEX conversations_created ON conversations (created_at);
