-- Accounts and sessions: token versions that revoke every earlier token when bumped,
-- one-time password-reset links, and the index the orphaned-upload sweep reads.

-- A token carries the version it was issued under; a deactivation or a password change bumps
-- the agent's version, and identify bumps the customer's, so earlier tokens stop working.
ALTER TABLE agents ADD COLUMN token_version integer NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- Only a hash of the link's secret is stored: a leaked table cannot be used to sign in.
CREATE TABLE password_resets (
    token_hash  text PRIMARY KEY,
    agent_id    uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_by  uuid REFERENCES agents (id) ON DELETE SET NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_agent ON password_resets (agent_id);

-- Uploads never sent in a message expire; the sweep finds them by age.
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;
