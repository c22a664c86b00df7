-- Routing: priorities, queue places, assignment history and per-team routing settings.
-- PostgreSQL stays the truth: Redis queues and loads are rebuilt from these columns.

ALTER TABLE conversations
    -- 0 urgent, 1 high, 2 normal, 3 low.
    ADD COLUMN priority smallint NOT NULL DEFAULT 2 CHECK (priority BETWEEN 0 AND 3),
    -- The conversation's place in its team's queue: set when it first waits, kept when it comes
    -- back (its agent vanished, was unassigned), reset only by a reopen. NULL = never queued.
    ADD COLUMN queued_at timestamptz,
    -- Waiting for an agent right now (open, unassigned, routable).
    ADD COLUMN waiting boolean NOT NULL DEFAULT false,
    ADD COLUMN assigned_at timestamptz,
    -- The assigned agent's first public reply since the assignment (unanswered-chat timer).
    ADD COLUMN agent_replied_at timestamptz;

CREATE INDEX conversations_waiting ON conversations (team_id, priority, queued_at)
    WHERE waiting;
CREATE INDEX conversations_assigned_open ON conversations (assigned_agent_id)
    WHERE status = 'open' AND assigned_agent_id IS NOT NULL;

-- Every routing decision, for history and reports: who, when, why.
CREATE TABLE assignment_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN (
                         'queued', 'assigned', 'claimed', 'transferred', 'unassigned',
                         'requeued', 'unanswered', 'abandoned', 'returned', 'resolved',
                         'reopened')),
    agent_id         uuid REFERENCES agents (id) ON DELETE SET NULL,
    from_agent_id    uuid REFERENCES agents (id) ON DELETE SET NULL,
    team_id          uuid REFERENCES teams (id) ON DELETE SET NULL,
    actor_kind       text NOT NULL CHECK (actor_kind IN ('customer', 'agent', 'system')),
    actor_id         uuid,
    reason           text,
    wait_seconds     double precision,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignment_events_conversation ON assignment_events (conversation_id, id);
CREATE INDEX assignment_events_team_time ON assignment_events (team_id, created_at)
    WHERE kind IN ('assigned', 'claimed');

-- Conversations with no team go to the default team from now on.
UPDATE conversations SET team_id = (SELECT id FROM teams WHERE is_default) WHERE team_id IS NULL;
