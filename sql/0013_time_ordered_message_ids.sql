-- Messages get time-ordered ids where PostgreSQL makes them (uuidv7(), PostgreSQL 18 on).
--
-- With random ids (gen_random_uuid()) every insert lands on a random leaf page of the
-- primary key, so a steady stream of messages dirties pages all over the index, and the first
-- change to each page after a checkpoint writes the whole page to the WAL again. Time-ordered
-- ids all go to the right-most leaf. Nothing orders by id (order is the per-conversation seq),
-- and an id still holds 62 random bits, so it stays unguessable. Older servers keep the
-- random default.
DO $$
BEGIN
    IF to_regprocedure('uuidv7()') IS NOT NULL THEN
        ALTER TABLE messages ALTER COLUMN id SET DEFAULT uuidv7();
    END IF;
END
$$;
