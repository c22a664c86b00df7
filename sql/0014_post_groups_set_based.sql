-- Cheaper posts: a retry lookup that uses its index, and a group of posts in one set-based
-- statement.
--
-- 1. parley_post looked for a retried client id with `sender_id IS NOT DISTINCT FROM`, which
--    no index can answer: the lookup read the index entries of every sender (PostgreSQL 18's
--    skip scan) or of every message of the sender kind (older servers), a cost that grew with
--    the table. It is the same function with that lookup by equality.
--
-- 2. parley_post_group: store/post_groups.py sends together the posts that arrived while its
--    previous statement ran. This stores the common case of them with one update per
--    conversation, one insert for all the messages and one upsert per sender's read cursor,
--    and answers one row per post, in the order given, as parley_post would have answered it
--    one post after the other. A conversation with anything unusual among its posts is left
--    untouched (`done` is false for each of its posts) and the caller sends those posts
--    through parley_post, which decides them one by one: a post its viewer may not make
--    (not_found), a client id already stored (a retry, or a conflict with another
--    conversation) or repeated within the group, a customer's post into a conversation that
--    is not open (a reopen), a client id without a sender. All of that is seen before
--    anything is written. Each conversation's posts come in their order; the conversations
--    are locked in id order, as parley_post's callers lock them, so that two processes'
--    statements cannot wait for each other.
CREATE OR REPLACE FUNCTION parley_post(
    p_conversation_id  uuid,
    p_sender_kind      text,
    p_sender_id        uuid,
    p_client_id        text,
    p_body             text,
    p_visibility       text,
    p_metadata         jsonb,
    p_attachment_ids   uuid[],
    p_owners           text[] DEFAULT NULL,
    p_run              uuid DEFAULT NULL,
    -- Who may post (core.policies.ViewScope): a customer's own conversations, or an agent's
    -- (assigned to them, joined, or unassigned and for one of their teams or none). Both NULL:
    -- no limit (admins, the assistant, Parley's own notices).
    p_viewer_customer  uuid DEFAULT NULL,
    p_viewer_agent     uuid DEFAULT NULL,
    p_viewer_teams     uuid[] DEFAULT NULL
) RETURNS TABLE (
    id                   uuid,
    seq                  bigint,
    created_at           timestamptz,
    created              boolean,
    status               text,
    reopened             boolean,
    customer_name        text,   -- the sender's name when a customer posts
    -- The conversation before the post.
    c_customer_id        uuid,
    c_status             text,
    c_assigned_agent_id  uuid,
    c_team_id            uuid,
    c_last_seq           bigint,
    c_metadata           jsonb,
    c_created_at         timestamptz,
    c_updated_at         timestamptz,
    c_last_message_at    timestamptz,
    c_resolved_at        timestamptz,
    c_priority           smallint,
    c_waiting            boolean,
    c_queued_at          timestamptz,
    c_assigned_at        timestamptz,
    c_owner              text
)
LANGUAGE plpgsql AS $$
DECLARE
    v_conv       conversations%ROWTYPE;
    v_existing   messages%ROWTYPE;
    v_status     text;
    v_seq        bigint;
    v_reopened   boolean := false;
    v_linked     integer;
    v_name       text;
BEGIN
    SELECT c.* INTO v_conv FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
    -- A conversation the viewer may not see does not exist for them (not_found, nothing stored).
    IF NOT FOUND
       OR (p_viewer_customer IS NOT NULL AND v_conv.customer_id <> p_viewer_customer)
       OR (p_viewer_agent IS NOT NULL
           AND v_conv.assigned_agent_id IS DISTINCT FROM p_viewer_agent
           AND NOT (v_conv.assigned_agent_id IS NULL
                    AND (v_conv.team_id IS NULL
                         OR v_conv.team_id = ANY (coalesce(p_viewer_teams, '{}'))))
           AND NOT EXISTS (SELECT 1 FROM conversation_participants p
                            WHERE p.conversation_id = p_conversation_id
                              AND p.agent_id = p_viewer_agent))
    THEN
        RAISE EXCEPTION 'conversation not found' USING ERRCODE = 'PL404';
    END IF;
    IF p_sender_kind = 'customer' THEN
        SELECT cu.name INTO v_name FROM customers cu WHERE cu.id = v_conv.customer_id;
    END IF;

    IF p_client_id IS NOT NULL THEN
        -- Equality on all three columns, so the lookup is one probe of messages_client_id.
        -- (IS NOT DISTINCT FROM is no index condition: PostgreSQL 18 skip-scanned every sender
        -- and older servers read every message of the sender kind.)
        IF p_sender_id IS NULL THEN
            SELECT m.* INTO v_existing FROM messages m
             WHERE m.sender_kind = p_sender_kind AND m.sender_id IS NULL
               AND m.client_id = p_client_id;
        ELSE
            SELECT m.* INTO v_existing FROM messages m
             WHERE m.sender_kind = p_sender_kind AND m.sender_id = p_sender_id
               AND m.client_id = p_client_id;
        END IF;
        IF FOUND THEN
            IF v_existing.conversation_id <> p_conversation_id THEN
                RAISE EXCEPTION 'client id already used in another conversation'
                    USING ERRCODE = 'PL409';
            END IF;
            RETURN QUERY SELECT v_existing.id, v_existing.seq, v_existing.created_at,
                false, v_conv.status, false, v_name,
                v_conv.customer_id, v_conv.status, v_conv.assigned_agent_id, v_conv.team_id,
                v_conv.last_seq, v_conv.metadata, v_conv.created_at,
                greatest(v_conv.updated_at, v_conv.last_message_at), v_conv.last_message_at,
                v_conv.resolved_at, v_conv.priority, v_conv.waiting, v_conv.queued_at,
                v_conv.assigned_at, v_conv.owner;
            RETURN;
        END IF;
    END IF;

    IF p_owners IS NOT NULL AND (v_conv.status <> 'open' OR NOT (v_conv.owner = ANY (p_owners)))
    THEN
        RAISE EXCEPTION 'the conversation changed hands' USING ERRCODE = 'PL412';
    END IF;
    IF p_run IS NOT NULL AND v_conv.assistant_run IS DISTINCT FROM p_run THEN
        RAISE EXCEPTION 'this answer is no longer wanted' USING ERRCODE = 'PL412';
    END IF;

    v_status := v_conv.status;
    IF p_sender_kind = 'customer' AND v_status <> 'open' THEN
        v_reopened := true;
        v_status := 'open';
    END IF;

    -- Only unindexed columns change, unless this post reopens the conversation (status is
    -- indexed); setting a column to the value it has keeps the update HOT.
    UPDATE conversations c
       SET last_seq = c.last_seq + 1,
           last_message_at = now(),
           status = v_status,
           resolved_at = CASE WHEN v_reopened THEN NULL ELSE c.resolved_at END,
           first_response_at = CASE
               WHEN p_sender_kind = 'agent' AND p_visibility = 'public'
                    AND c.first_response_at IS NULL THEN now()
               ELSE c.first_response_at END
     WHERE c.id = p_conversation_id
    RETURNING c.last_seq INTO v_seq;

    INSERT INTO messages AS m (conversation_id, seq, sender_kind, sender_id, client_id, body,
                               visibility, metadata)
    VALUES (p_conversation_id, v_seq, p_sender_kind, p_sender_id, p_client_id, p_body,
            p_visibility, coalesce(p_metadata, '{}'::jsonb))
    RETURNING m.* INTO v_existing;

    IF coalesce(cardinality(p_attachment_ids), 0) > 0 THEN
        UPDATE attachments a SET message_id = v_existing.id
         WHERE a.id = ANY (p_attachment_ids)
           AND a.conversation_id = p_conversation_id
           AND a.message_id IS NULL
           AND a.uploader_kind = p_sender_kind
           AND a.uploader_id IS NOT DISTINCT FROM p_sender_id;
        GET DIAGNOSTICS v_linked = ROW_COUNT;
        IF v_linked <> cardinality(p_attachment_ids) THEN
            RAISE EXCEPTION 'attachment not found, not yours, or already sent'
                USING ERRCODE = 'PL422';
        END IF;
    END IF;

    -- The sender has received and read everything up to their own message.
    IF p_sender_kind IN ('customer', 'agent') AND p_sender_id IS NOT NULL THEN
        INSERT INTO read_cursors AS r (conversation_id, reader_kind, reader_id,
                                       delivered_seq, read_seq)
        VALUES (p_conversation_id, p_sender_kind, p_sender_id, v_seq, v_seq)
        ON CONFLICT (conversation_id, reader_kind, reader_id) DO UPDATE
           SET delivered_seq = greatest(r.delivered_seq, excluded.delivered_seq),
               read_seq = greatest(r.read_seq, excluded.read_seq),
               updated_at = now();
    END IF;

    RETURN QUERY SELECT v_existing.id, v_existing.seq, v_existing.created_at,
        true, v_status, v_reopened, v_name,
        v_conv.customer_id, v_conv.status, v_conv.assigned_agent_id, v_conv.team_id,
        v_conv.last_seq, v_conv.metadata, v_conv.created_at,
        greatest(v_conv.updated_at, v_conv.last_message_at), v_conv.last_message_at,
        v_conv.resolved_at, v_conv.priority, v_conv.waiting, v_conv.queued_at,
        v_conv.assigned_at, v_conv.owner;
END;
$$;

CREATE FUNCTION parley_post_group(
    p_conversation_ids  uuid[],
    p_sender_kinds      text[],
    p_sender_ids        uuid[],
    p_client_ids        text[],
    p_bodies            text[],
    p_visibilities      text[],
    p_metadata          jsonb[],
    -- Who may post each one (core.policies.ViewScope, as parley_post takes it); the teams as
    -- comma-separated ids, since arrays of arrays must all have one length.
    p_viewer_customers  uuid[],
    p_viewer_agents     uuid[],
    p_viewer_teams      text[]
) RETURNS TABLE (
    done                 boolean,  -- false: nothing stored, post it with parley_post
    id                   uuid,
    seq                  bigint,
    created_at           timestamptz,
    created              boolean,
    status               text,
    reopened             boolean,
    customer_name        text,
    c_customer_id        uuid,
    c_status             text,
    c_assigned_agent_id  uuid,
    c_team_id            uuid,
    c_last_seq           bigint,
    c_metadata           jsonb,
    c_created_at         timestamptz,
    c_updated_at         timestamptz,
    c_last_message_at    timestamptz,
    c_resolved_at        timestamptz,
    c_priority           smallint,
    c_waiting            boolean,
    c_queued_at          timestamptz,
    c_assigned_at        timestamptz,
    c_owner              text
)
LANGUAGE plpgsql
-- One plan for every call: planning the statement below for each group's arrays (a custom
-- plan) costs more than storing a small group (bench/post_parts.py: ~700 µs per call).
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- Lock first, so that the statement below (a new snapshot) reads every conversation as
    -- it is now and nobody changes it until the commit.
    PERFORM 1 FROM conversations c WHERE c.id = ANY (p_conversation_ids) ORDER BY c.id
        FOR UPDATE;

    RETURN QUERY
    WITH post AS (
        SELECT x.*,
               row_number() OVER (PARTITION BY x.conversation_id ORDER BY x.n) AS k,
               count(*) OVER (PARTITION BY x.sender_kind, x.sender_id, x.client_id) AS uses
          FROM unnest(p_conversation_ids, p_sender_kinds, p_sender_ids, p_client_ids, p_bodies,
                      p_visibilities, p_metadata, p_viewer_customers, p_viewer_agents,
                      p_viewer_teams) WITH ORDINALITY
               AS x(conversation_id, sender_kind, sender_id, client_id, body, visibility,
                    metadata, viewer_customer, viewer_agent, viewer_teams, n)
    ),
    -- Conversations with a post parley_post must decide (the same rules it applies). The
    -- lookups are per post (LATERAL ... LIMIT 1): an index probe each, whatever the tables hold.
    unusual AS (
        SELECT p.conversation_id
          FROM post p
          LEFT JOIN conversations c ON c.id = p.conversation_id
          LEFT JOIN LATERAL (
                SELECT true AS joined FROM conversation_participants cp
                 WHERE p.viewer_agent IS NOT NULL
                   AND cp.conversation_id = p.conversation_id AND cp.agent_id = p.viewer_agent
                 LIMIT 1) j ON true
          LEFT JOIN LATERAL (
                SELECT true AS seen FROM messages m
                 WHERE p.client_id IS NOT NULL
                   AND m.sender_kind = p.sender_kind AND m.sender_id = p.sender_id
                   AND m.client_id = p.client_id
                 LIMIT 1) e ON true
         WHERE c.id IS NULL
            OR (p.viewer_customer IS NOT NULL AND c.customer_id <> p.viewer_customer)
            OR (p.viewer_agent IS NOT NULL
                AND c.assigned_agent_id IS DISTINCT FROM p.viewer_agent
                AND NOT (c.assigned_agent_id IS NULL
                         AND (c.team_id IS NULL
                              OR c.team_id = ANY (coalesce(
                                     string_to_array(p.viewer_teams, ',')::uuid[], '{}'))))
                AND j.joined IS NULL)
            OR (p.sender_kind = 'customer' AND c.status <> 'open')
            OR (p.client_id IS NOT NULL AND (p.sender_id IS NULL OR p.uses > 1))
            OR e.seen
    ),
    counted AS (
        SELECT p.conversation_id, count(*) AS posts,
               bool_or(p.sender_kind = 'agent' AND p.visibility = 'public') AS answers
          FROM post p
         WHERE NOT EXISTS (SELECT 1 FROM unusual u WHERE u.conversation_id = p.conversation_id)
         GROUP BY p.conversation_id
    ),
    -- Only unindexed columns change (a HOT update, as in parley_post).
    updated AS (
        UPDATE conversations c
           SET last_seq = c.last_seq + t.posts,
               last_message_at = now(),
               first_response_at = CASE WHEN t.answers AND c.first_response_at IS NULL
                                        THEN now() ELSE c.first_response_at END
          FROM counted t
         WHERE c.id = t.conversation_id
        RETURNING c.id
    ),
    -- This statement's snapshot still shows each conversation as it was before `updated`.
    numbered AS (
        SELECT p.*, c.last_seq + p.k AS new_seq
          FROM post p
          JOIN conversations c ON c.id = p.conversation_id
         WHERE EXISTS (SELECT 1 FROM updated u WHERE u.id = p.conversation_id)
    ),
    stored AS (
        INSERT INTO messages AS m (conversation_id, seq, sender_kind, sender_id, client_id, body,
                                   visibility, metadata)
        SELECT p.conversation_id, p.new_seq, p.sender_kind, p.sender_id, p.client_id, p.body,
               p.visibility, coalesce(p.metadata, '{}'::jsonb)
          FROM numbered p
         ORDER BY p.n
        RETURNING m.id, m.conversation_id, m.seq, m.created_at
    ),
    -- Each sender has received and read everything up to their last message.
    cursors AS (
        INSERT INTO read_cursors AS r (conversation_id, reader_kind, reader_id, delivered_seq,
                                       read_seq)
        SELECT p.conversation_id, p.sender_kind, p.sender_id, max(p.new_seq), max(p.new_seq)
          FROM numbered p
         WHERE p.sender_kind IN ('customer', 'agent') AND p.sender_id IS NOT NULL
         GROUP BY p.conversation_id, p.sender_kind, p.sender_id
        ON CONFLICT (conversation_id, reader_kind, reader_id) DO UPDATE
           SET delivered_seq = greatest(r.delivered_seq, excluded.delivered_seq),
               read_seq = greatest(r.read_seq, excluded.read_seq),
               updated_at = now()
    )
    -- Each post's conversation as parley_post would have seen it: after the posts before it.
    SELECT s.id IS NOT NULL, s.id, s.seq, s.created_at, s.id IS NOT NULL, c.status, false,
           CASE WHEN p.sender_kind = 'customer' THEN cu.name END,
           c.customer_id, c.status, c.assigned_agent_id, c.team_id, c.last_seq + p.k - 1,
           c.metadata, c.created_at,
           greatest(c.updated_at, CASE WHEN p.k = 1 THEN c.last_message_at ELSE now() END),
           CASE WHEN p.k = 1 THEN c.last_message_at ELSE now() END,
           c.resolved_at, c.priority, c.waiting, c.queued_at, c.assigned_at, c.owner
      FROM post p
      LEFT JOIN conversations c ON c.id = p.conversation_id
      LEFT JOIN stored s ON s.conversation_id = p.conversation_id AND s.seq = c.last_seq + p.k
      LEFT JOIN customers cu ON cu.id = c.customer_id
     ORDER BY p.n;
END;
$$;
