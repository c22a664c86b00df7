-- Supabase as a deployment target (docs/supabase.md).
--
-- Agents who sign in with Supabase Auth are linked to their Supabase user id (the token's
-- `sub`) at their first sign-in by verified email; from then on the link, not the email, is
-- what identifies them.
ALTER TABLE agents ADD COLUMN supabase_user_id text UNIQUE
    CHECK (supabase_user_id IS NULL OR length(supabase_user_id) BETWEEN 1 AND 200);

-- Supabase exposes the `public` schema to its API roles (`anon`, `authenticated`) over REST
-- and GraphQL, and grants them everything on new objects by default. Parley's tables must
-- refuse both (docs/supabase.md#what-row-level-security-protects).
--
-- From now on the migrations runner locks down whatever each migration creates, in that
-- migration's own transaction (server/store/lockdown.py). This file does the same once for
-- the tables, views and functions of the migrations before it, named here so that a team's
-- own objects in the same schema are left alone. Parley connects as the owner of its
-- tables, which row-level security does not restrict.

DO $$
DECLARE
    grantees text := 'PUBLIC';
    relation regclass;
    function regprocedure;
BEGIN
    SELECT grantees || coalesce(string_agg(', ' || quote_ident(rolname), ''), '')
      INTO grantees FROM pg_roles WHERE rolname IN ('anon', 'authenticated');

    FOR relation IN
        SELECT to_regclass(name) FROM unnest(ARRAY[
            'schema_migrations', 'teams', 'agents', 'agent_teams', 'customers', 'conversations',
            'conversation_participants', 'messages', 'read_cursors', 'attachments',
            'kb_articles', 'kb_chunks', 'kb_state', 'assignment_events', 'assistant_events',
            'quick_responses', 'audit_log', 'settings'
        ]) AS name
        WHERE to_regclass(name) IS NOT NULL
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', relation);
        EXECUTE format('REVOKE ALL ON %s FROM %s', relation, grantees);
    END LOOP;

    FOR relation IN
        SELECT to_regclass(name) FROM unnest(ARRAY['assistant_usage']) AS name
        WHERE to_regclass(name) IS NOT NULL
        UNION ALL
        SELECT s.oid::regclass FROM pg_class s JOIN pg_depend d ON d.objid = s.oid
         WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(ARRAY[
            to_regclass('kb_chunks'), to_regclass('audit_log'), to_regclass('assignment_events'),
            to_regclass('assistant_events'), to_regclass('messages')])
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', relation, grantees);
    END LOOP;

    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
         WHERE p.pronamespace = current_schema()::regnamespace
           AND p.proname IN ('parley_post_message', 'parley_assign')
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', function, grantees);
    END LOOP;
END
$$;
