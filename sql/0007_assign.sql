-- An assignment's PostgreSQL step in one call (it took seven round trips before): lock the
-- agent, check they are active and under capacity, take the conversation if it still waits
-- unassigned, record the history row with the wait, and return what the events need.
--
-- Returns no row when the assignment is refused (agent missing, inactive or full; the
-- conversation gone, closed or taken). Runs in the caller's transaction, so a hand-over from
-- the assistant commits together with it.

CREATE FUNCTION parley_assign(
    p_conversation_id   uuid,
    p_agent_id          uuid,
    p_default_capacity  integer,
    p_kind              text,
    p_team_id           uuid,
    p_actor_kind        text,
    p_actor_id          uuid
) RETURNS TABLE (
    id                          uuid,
    customer_id                 uuid,
    status                      text,
    assigned_agent_id           uuid,
    team_id                     uuid,
    last_seq                    bigint,
    metadata                    jsonb,
    created_at                  timestamptz,
    updated_at                  timestamptz,
    last_message_at             timestamptz,
    resolved_at                 timestamptz,
    priority                    smallint,
    waiting                     boolean,
    queued_at                   timestamptz,
    assigned_at                 timestamptz,
    owner                       text,
    previous_owner              text,
    stopped_run                 uuid,
    previous_handoff_reason     text,
    agent_name                  text,
    customer_name               text,
    customer_email              text,
    customer_attributes         jsonb,
    customer_identity_verified  boolean,
    customer_created_at         timestamptz
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_active    boolean;
    v_name      text;
    v_capacity  integer;
    v_load      bigint;
    v_before    conversations%ROWTYPE;
    v_after     conversations%ROWTYPE;
BEGIN
    -- The agent's row lock serialises every assignment to them, in any process.
    SELECT a.is_active, a.display_name INTO v_active, v_name
      FROM agents a WHERE a.id = p_agent_id FOR UPDATE;
    IF NOT FOUND OR NOT v_active THEN
        RETURN;
    END IF;
    -- Capacity: the agent's own, else the smallest default among their teams, else the server's.
    SELECT coalesce(a.max_chats, (
               SELECT min((tm.settings->>'capacity_default')::int)
                 FROM agent_teams at JOIN teams tm ON tm.id = at.team_id
                WHERE at.agent_id = a.id AND tm.settings ? 'capacity_default'),
               p_default_capacity)
      INTO v_capacity FROM agents a WHERE a.id = p_agent_id;
    SELECT count(*) INTO v_load
      FROM conversations c WHERE c.assigned_agent_id = p_agent_id AND c.status = 'open';
    IF v_load >= v_capacity THEN
        RETURN;
    END IF;

    SELECT c.* INTO v_before FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
    IF NOT FOUND OR v_before.status <> 'open' OR NOT v_before.waiting
       OR v_before.assigned_agent_id IS NOT NULL THEN
        RETURN;
    END IF;
    -- The person becomes the owner in the same statement: from this commit on no answer of the
    -- assistant can be posted (parley_post_message checks the owner under the row lock).
    UPDATE conversations c
       SET assigned_agent_id = p_agent_id, assigned_at = now(), waiting = false,
           agent_replied_at = NULL, updated_at = now(),
           owner = 'human', assistant_run = NULL, handoff_reason = NULL
     WHERE c.id = p_conversation_id
    RETURNING c.* INTO v_after;

    INSERT INTO assignment_events (conversation_id, kind, agent_id, team_id, actor_kind,
                                   actor_id, wait_seconds)
    VALUES (p_conversation_id, p_kind, p_agent_id, p_team_id, p_actor_kind, p_actor_id,
            extract(epoch FROM now() - v_before.queued_at));

    RETURN QUERY
    SELECT v_after.id, v_after.customer_id, v_after.status, v_after.assigned_agent_id,
           v_after.team_id, v_after.last_seq, v_after.metadata, v_after.created_at,
           v_after.updated_at, v_after.last_message_at, v_after.resolved_at, v_after.priority,
           v_after.waiting, v_after.queued_at, v_after.assigned_at, v_after.owner,
           v_before.owner, v_before.assistant_run, v_before.handoff_reason, v_name,
           cu.name, cu.email, cu.attributes, cu.identity_verified, cu.created_at
      FROM customers cu WHERE cu.id = v_after.customer_id;
END;
$$;
