-- post_message: the one way a message enters a conversation, in one round trip.
--
-- It locks the conversation row, so sequence numbers are assigned in commit order and stay
-- gap-free (a failed insert rolls the counter back with it). A retry with a client id the sender
-- already used returns the original row with created = false. Two retries racing each other both
-- miss the lookup; the loser then hits messages_client_id and the caller looks the original up.

CREATE FUNCTION parley_post_message(
    p_conversation_id  uuid,
    p_sender_kind      text,
    p_sender_id        uuid,
    p_client_id        text,
    p_body             text,
    p_visibility       text,
    p_metadata         jsonb,
    p_attachment_ids   uuid[]
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

    SELECT c.status INTO v_status FROM conversations c
     WHERE c.id = p_conversation_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'conversation not found' USING ERRCODE = 'PL404';
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
