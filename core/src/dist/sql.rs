//! The SQL warden runs. `{ns}` stands for the quoted schema name.
//!
//! Everything that must happen atomically with a grant (the fence bump, a
//! barrier arrival, a condition ticket) is one statement: a server-side
//! function or a single `WITH ... INSERT`.

/// Schema, tables and functions; run once per namespace, under an
/// advisory transaction lock, inside `BEGIN ... COMMIT`. `setup_v1()` is
/// created last: its presence means the rest is there.
pub(crate) const SETUP: &str = r"
CREATE SCHEMA IF NOT EXISTS {ns};

-- The last fence token handed out per key: strictly increasing.
CREATE TABLE IF NOT EXISTS {ns}.fence (
    key   text PRIMARY KEY,
    token bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS {ns}.event (
    key        text PRIMARY KEY,
    is_set     boolean NOT NULL,
    generation bigint NOT NULL
);

-- Permits added by release(n) (positive) or kept by forget() (negative).
CREATE TABLE IF NOT EXISTS {ns}.semaphore (
    key   text PRIMARY KEY,
    extra bigint NOT NULL
);

-- Condition waiters: the listening backend that will hear the wake-up.
-- `id` is chosen by the waiter (so it can withdraw a ticket whose insert
-- it never saw answered); `seq` orders the waiters.
CREATE TABLE IF NOT EXISTS {ns}.ticket (
    id            bigint PRIMARY KEY,
    seq           bigserial NOT NULL,
    cond          text NOT NULL,
    pid           integer NOT NULL,
    backend_start timestamptz NOT NULL,
    notified      boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS ticket_cond ON {ns}.ticket (cond, seq);

CREATE TABLE IF NOT EXISTS {ns}.barrier (
    key        text PRIMARY KEY,
    generation bigint NOT NULL DEFAULT 0,
    broken     boolean NOT NULL DEFAULT false
);

-- One row per waiting party; outcome NULL while it waits. Its lock_key is
-- held (session level) by the party's connection while it waits.
CREATE TABLE IF NOT EXISTS {ns}.barrier_party (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL,
    generation bigint NOT NULL,
    idx        integer NOT NULL,
    lock_key   bigint NOT NULL,
    outcome    text
);
CREATE INDEX IF NOT EXISTS barrier_party_key ON {ns}.barrier_party (key, generation);
CREATE INDEX IF NOT EXISTS barrier_party_lock ON {ns}.barrier_party (lock_key);

-- Is the bigint advisory lock `k` held by anyone in this database?
CREATE OR REPLACE FUNCTION {ns}.advisory_held(k bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = ((k >> 32) & 4294967295)::oid
          AND l.objid = (k & 4294967295)::oid)
$$;

-- Bumps and returns the fence token of `k`.
CREATE OR REPLACE FUNCTION {ns}.bump_fence(k text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO {ns}.fence AS f (key, token) VALUES (k, 1)
    ON CONFLICT (key) DO UPDATE SET token = f.token + 1
    RETURNING f.token
$$;

-- Takes a free permit slot of a semaphore, starting the search at
-- p_start; returns the slot and the new fence token, or NULLs.
CREATE OR REPLACE FUNCTION {ns}.take_permit(
    p_base bigint, p_permits bigint, p_key text, p_start bigint,
    OUT o_slot bigint, OUT o_token bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    s bigint;
BEGIN
    n := least(p_permits + coalesce(
        (SELECT extra FROM {ns}.semaphore WHERE key = p_key), 0), 1048576);
    FOR i IN 0 .. n - 1 LOOP
        s := (p_start + i) % n;
        IF pg_try_advisory_lock(p_base | s) THEN
            o_slot := s;
            o_token := {ns}.bump_fence('semaphore:' || p_key);
            RETURN;
        END IF;
    END LOOP;
END $$;

-- A semaphore acquire. p_mode: 'try' (only if nobody queues), 'wait'
-- (queue FIFO behind the queue lock p_queue, blocking), 'again' (already
-- holding the queue lock). The queue lock is kept while no permit is free
-- (the caller waits and comes back with 'again'), released once one is.
CREATE OR REPLACE FUNCTION {ns}.permit(
    p_queue bigint, p_mode text, p_base bigint, p_permits bigint, p_key text, p_start bigint,
    OUT o_slot bigint, OUT o_token bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_mode = 'try' THEN
        IF NOT pg_try_advisory_lock(p_queue) THEN
            RETURN;
        END IF;
    ELSIF p_mode = 'wait' THEN
        PERFORM pg_advisory_lock(p_queue);
    END IF;
    SELECT t.o_slot, t.o_token INTO o_slot, o_token
    FROM {ns}.take_permit(p_base, p_permits, p_key, p_start) t;
    IF o_slot IS NOT NULL OR p_mode = 'try' THEN
        PERFORM pg_advisory_unlock(p_queue);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {ns}.event_set(p_key text, p_channel text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {ns}.event AS e (key, is_set, generation) VALUES (p_key, true, 1)
    ON CONFLICT (key) DO UPDATE SET is_set = true, generation = e.generation + 1
    WHERE NOT e.is_set;
    IF FOUND THEN
        PERFORM pg_notify(p_channel, '');
    END IF;
END $$;

-- Marks up to n live waiters of a condition notified (oldest first).
-- Tickets of dead backends are deleted, never notified; a dead ticket that
-- had been notified (its waiter died before taking its wake-up) passes
-- its wake-up on.
CREATE OR REPLACE FUNCTION {ns}.cond_notify(p_cond text, p_n bigint, p_channel text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    passed bigint;
    woken bigint;
BEGIN
    WITH dead AS (
        DELETE FROM {ns}.ticket t
        WHERE t.cond = p_cond
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                          WHERE a.pid = t.pid AND a.backend_start = t.backend_start)
        RETURNING t.notified)
    SELECT count(*) FILTER (WHERE notified) INTO passed FROM dead;
    WITH picked AS (
        SELECT id FROM {ns}.ticket
        WHERE cond = p_cond AND NOT notified
        ORDER BY seq
        LIMIT least(p_n, 1000000000) + passed
        FOR UPDATE SKIP LOCKED)
    UPDATE {ns}.ticket SET notified = true WHERE id IN (SELECT id FROM picked);
    GET DIAGNOSTICS woken = ROW_COUNT;
    IF woken > 0 THEN
        PERFORM pg_notify(p_channel, '');
    END IF;
    RETURN woken;
END $$;

-- A waiter leaving without its wake-up (cancelled, failed): deletes its
-- ticket and, if it had been notified, passes the wake-up on.
CREATE OR REPLACE FUNCTION {ns}.cond_leave(p_id bigint, p_channel text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    was boolean;
    c text;
BEGIN
    DELETE FROM {ns}.ticket WHERE id = p_id RETURNING notified, cond INTO was, c;
    IF was THEN
        PERFORM {ns}.cond_notify(c, 1, p_channel);
    END IF;
END $$;

-- Breaks the current generation of a barrier: every waiting party fails.
CREATE OR REPLACE FUNCTION {ns}.barrier_break(p_key text, p_channel text, p_reset boolean)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
BEGIN
    INSERT INTO {ns}.barrier (key) VALUES (p_key) ON CONFLICT DO NOTHING;
    SELECT generation INTO g FROM {ns}.barrier WHERE key = p_key FOR UPDATE;
    UPDATE {ns}.barrier_party SET outcome = 'broken'
    WHERE key = p_key AND generation = g AND outcome IS NULL;
    IF p_reset THEN
        UPDATE {ns}.barrier SET generation = g + 1, broken = false WHERE key = p_key;
    ELSE
        UPDATE {ns}.barrier SET broken = true WHERE key = p_key;
    END IF;
    PERFORM pg_notify(p_channel, '');
END $$;

-- Breaks the barrier if a waiting party's connection is gone (its party
-- lock is free). Returns true if it broke it. Caller holds the row lock.
CREATE OR REPLACE FUNCTION {ns}.barrier_check_locked(p_key text, g bigint, p_channel text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {ns}.barrier_party p
               WHERE p.key = p_key AND p.generation = g AND p.outcome IS NULL
                 AND NOT {ns}.advisory_held(p.lock_key)) THEN
        PERFORM {ns}.barrier_break(p_key, p_channel, false);
        RETURN true;
    END IF;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION {ns}.barrier_check(p_key text, p_channel text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
BEGIN
    SELECT generation INTO g FROM {ns}.barrier WHERE key = p_key FOR UPDATE;
    IF g IS NULL THEN
        RETURN false;
    END IF;
    RETURN {ns}.barrier_check_locked(p_key, g, p_channel);
END $$;

-- A party arrives, holding the party lock p_lock_key on its own
-- connection. Returns its row id, its index, and 'passed' (it tripped
-- the barrier: the last of its generation), 'waiting' or 'broken'.
CREATE OR REPLACE FUNCTION {ns}.barrier_arrive(
    p_key text, p_parties integer, p_lock_key bigint, p_channel text,
    OUT o_id bigint, OUT o_idx integer, OUT o_outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    g bigint;
    b boolean;
    c integer;
BEGIN
    INSERT INTO {ns}.barrier (key) VALUES (p_key) ON CONFLICT DO NOTHING;
    SELECT generation, broken INTO g, b FROM {ns}.barrier WHERE key = p_key FOR UPDATE;
    IF b OR {ns}.barrier_check_locked(p_key, g, p_channel) THEN
        o_outcome := 'broken';
        RETURN;
    END IF;
    SELECT count(*) INTO c FROM {ns}.barrier_party
    WHERE key = p_key AND generation = g AND outcome IS NULL;
    o_idx := c;
    IF c + 1 >= p_parties THEN
        UPDATE {ns}.barrier_party SET outcome = 'passed'
        WHERE key = p_key AND generation = g AND outcome IS NULL;
        UPDATE {ns}.barrier SET generation = g + 1 WHERE key = p_key;
        PERFORM pg_notify(p_channel, '');
        o_outcome := 'passed';
    ELSE
        PERFORM pg_advisory_lock(p_lock_key);
        INSERT INTO {ns}.barrier_party (key, generation, idx, lock_key)
        VALUES (p_key, g, c, p_lock_key) RETURNING id INTO o_id;
        o_outcome := 'waiting';
    END IF;
END $$;

-- A party withdraws (its wait was dropped): under the barrier's row lock,
-- so a withdrawal and a trip never interleave. A party already decided
-- (passed, broken) keeps its outcome; its row goes all the same.
CREATE OR REPLACE FUNCTION {ns}.barrier_leave(p_lock_key bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k text;
BEGIN
    SELECT key INTO k FROM {ns}.barrier_party WHERE lock_key = p_lock_key;
    IF FOUND THEN
        PERFORM 1 FROM {ns}.barrier WHERE key = k FOR UPDATE;
        DELETE FROM {ns}.barrier_party WHERE lock_key = p_lock_key;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION {ns}.setup_v1() RETURNS void LANGUAGE sql AS $$ SELECT $$;
";

/// Lock (blocking): `$1` advisory key, `$2` fence key. One row: the token.
pub(crate) const LOCK: &str = "WITH l AS (SELECT pg_advisory_lock($1)) \
     SELECT {ns}.bump_fence($2) FROM l";

/// Lock (non-blocking): zero rows if the lock is taken.
pub(crate) const TRY_LOCK: &str = "WITH l AS (SELECT pg_try_advisory_lock($1) AS ok) \
     SELECT {ns}.bump_fence($2) FROM l WHERE l.ok";

/// Semaphore: `$1` queue key, `$2` mode, `$3` base, `$4` permits, `$5`
/// key, `$6` start slot.
pub(crate) const PERMIT: &str = "SELECT o_slot, o_token FROM {ns}.permit($1, $2, $3, $4, $5, $6)";

/// Is `$1` held by anyone?
pub(crate) const HELD: &str = "SELECT {ns}.advisory_held($1)";
