-- The conversation's message allowance is kept on its row and taken by parley_post.
--
-- messages_per_conversation was a token bucket in Redis, taken before the post in a round trip
-- of its own (and given back when the post turned out not to be allowed). The post already
-- locks and updates the conversation's row, so the bucket now lives there, in two unindexed
-- columns (the update stays HOT), and is checked under the same lock after the visibility
-- check: exact across processes, one Redis round trip less per message, and nothing to give
-- back. A refusal raises PL429 with the seconds until one message is allowed as its DETAIL.
-- A retried client id answers with the original without taking from the allowance.

ALTER TABLE conversations ADD COLUMN post_tokens double precision,
                          ADD COLUMN post_tokens_at timestamptz;

-- New parameters: the old signature goes (parley_post_message calls it by name and position,
-- which the new defaults keep working).
DROP FUNCTION parley_post(uuid, text, uuid, text, text, text, jsonb, uuid[], text[], uuid, uuid,
                          uuid, uuid[]);

CREATE FUNCTION parley_post(
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
    p_viewer_teams     uuid[] DEFAULT NULL,
    -- The conversation's allowance (the messages_per_conversation limit): a burst of
    -- p_rate_count refilled at p_rate_per_second. NULL: this post is not counted (the
    -- assistant, Parley's own notices).
    p_rate_count       double precision DEFAULT NULL,
    p_rate_per_second  double precision DEFAULT NULL
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
    v_tokens     double precision;
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
        SELECT m.* INTO v_existing FROM messages m
         WHERE m.sender_kind = p_sender_kind
           AND m.sender_id IS NOT DISTINCT FROM p_sender_id
           AND m.client_id = p_client_id;
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

    -- After the visibility check (only those who may see the conversation learn that it is
    -- busy) and the retry lookup (a retry answered with its original takes nothing); a refused
    -- post takes nothing either (the exception rolls the statement back).
    IF p_rate_count IS NOT NULL THEN
        v_tokens := least(p_rate_count,
                          coalesce(v_conv.post_tokens, p_rate_count)
                          + greatest(0, extract(epoch FROM now() - coalesce(v_conv.post_tokens_at,
                                                                           now())))
                            * p_rate_per_second);
        IF v_tokens < 1 THEN
            RAISE EXCEPTION 'too many messages in this conversation' USING ERRCODE = 'PL429',
                DETAIL = ((1 - v_tokens) / p_rate_per_second)::text;
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
               ELSE c.first_response_at END,
           post_tokens = CASE WHEN v_tokens IS NULL THEN c.post_tokens ELSE v_tokens - 1 END,
           post_tokens_at = CASE WHEN v_tokens IS NULL THEN c.post_tokens_at ELSE now() END
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
