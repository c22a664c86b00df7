-- The assistant as a conversation participant: who owns a conversation right now, the answer in
-- flight, the loop guard, and a record of what the assistant did (for reports and token usage).

ALTER TABLE conversations
    -- Who answers the customer now: the assistant, nobody yet (waiting for a person), or the
    -- assigned person. One owner at a time: an assignment sets 'human' in the same statement.
    ADD COLUMN owner text NOT NULL DEFAULT 'queue'
        CHECK (owner IN ('assistant', 'queue', 'human')),
    -- The assistant's answer being generated. Only that run may post its answer
    -- (parley_post_message checks it under the row lock); anything that takes the conversation
    -- from the assistant clears it.
    ADD COLUMN assistant_run uuid,
    ADD COLUMN assistant_run_at timestamptz,
    -- Answers the assistant posted here, kept across reopens: it never answers more than the
    -- configured number of turns in one conversation, so a reopen cannot loop.
    ADD COLUMN assistant_turns integer NOT NULL DEFAULT 0,
    -- Why the assistant stepped back, until a person takes over (they are told at hand-over).
    ADD COLUMN handoff_reason text;

UPDATE conversations SET owner = 'human' WHERE assigned_agent_id IS NOT NULL;

-- Runs whose process died are found by age and handed to a person.
CREATE INDEX conversations_assistant_runs ON conversations (assistant_run_at)
    WHERE assistant_run IS NOT NULL;

-- What the assistant did, one row per step, with the tokens each step used.
CREATE TABLE assistant_events (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id    uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN (
                           'joined',        -- started answering (reason: when_no_agent, first)
                           'answered',      -- posted an answer (mode: generated, extractive,
                                            -- fallback, declined)
                           'stepped_back',  -- stopped answering (reason: customer_request,
                                            -- turn_limit, assistant_error, agent_took_over)
                           'handed_over',   -- a person was assigned after the assistant took part
                           'resolved',      -- the customer said the answer solved it
                           'summarized',    -- wrote the hand-over summary for the agent
                           'suggested')),   -- drafted a reply for an agent
    reason             text,
    mode               text,
    message_id         uuid,
    agent_id           uuid REFERENCES agents (id) ON DELETE SET NULL,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    total_tokens       integer NOT NULL DEFAULT 0,
    llm_calls          integer NOT NULL DEFAULT 0,
    model              text,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistant_events_conversation ON assistant_events (conversation_id, id);
CREATE INDEX assistant_events_kind_time ON assistant_events (kind, created_at);

-- Token usage and outcomes per conversation.
CREATE VIEW assistant_usage AS
SELECT conversation_id,
       count(*) FILTER (WHERE kind = 'answered') AS answers,
       count(*) FILTER (WHERE kind = 'answered' AND mode = 'declined') AS declines,
       sum(prompt_tokens) AS prompt_tokens,
       sum(completion_tokens) AS completion_tokens,
       sum(total_tokens) AS total_tokens,
       sum(llm_calls) AS llm_calls
  FROM assistant_events
 GROUP BY conversation_id;

-- parley_post_message gains an optional guard, checked under the conversation's row lock: the
-- conversation must be open and owned by one of p_owners, and when p_run is given, that answer
-- must still be the one in flight. A failed guard raises PL412 and nothing is written. This is
-- what makes "the assistant never posts after a person was assigned" hold across processes:
-- the assignment updates the same row, so one of the two always sees the other.
DROP FUNCTION parley_post_message(uuid, text, uuid, text, text, text, jsonb, uuid[]);

CREATE FUNCTION parley_post_message(
    p_conversation_id  uuid,
    p_sender_kind      text,
    p_sender_id        uuid,
    p_client_id        text,
    p_body             text,
    p_visibility       text,
    p_metadata         jsonb,
    p_attachment_ids   uuid[],
    p_owners           text[] DEFAULT NULL,
    p_run              uuid DEFAULT NULL
) RETURNS TABLE (
    id               uuid,
    seq              bigint,
    created_at       timestamptz,
    created          boolean,
    status           text,
    reopened         boolean
)
LANGUAGE plpgsql AS $$
DECLARE
    v_existing   messages%ROWTYPE;
    v_status     text;
    v_owner      text;
    v_run        uuid;
    v_seq        bigint;
    v_reopened   boolean := false;
    v_linked     integer;
BEGIN
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
            SELECT c.status INTO v_status FROM conversations c WHERE c.id = p_conversation_id;
            RETURN QUERY SELECT v_existing.id, v_existing.seq, v_existing.created_at,
                                false, v_status, false;
            RETURN;
        END IF;
    END IF;

    SELECT c.status, c.owner, c.assistant_run INTO v_status, v_owner, v_run
      FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'conversation not found' USING ERRCODE = 'PL404';
    END IF;

    IF p_owners IS NOT NULL AND (v_status <> 'open' OR NOT (v_owner = ANY (p_owners))) THEN
        RAISE EXCEPTION 'the conversation changed hands' USING ERRCODE = 'PL412';
    END IF;
    IF p_run IS NOT NULL AND v_run IS DISTINCT FROM p_run THEN
        RAISE EXCEPTION 'this answer is no longer wanted' USING ERRCODE = 'PL412';
    END IF;

    IF p_sender_kind = 'customer' AND v_status <> 'open' THEN
        v_reopened := true;
        v_status := 'open';
    END IF;

    UPDATE conversations c
       SET last_seq = c.last_seq + 1,
           last_message_at = now(),
           updated_at = now(),
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
                        true, v_status, v_reopened;
END;
$$;
