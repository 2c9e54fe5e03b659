-- Kinko schema v15: events per account, hour and chain, kept by triggers on audit_events, so
-- that the console overview's requests per hour read 24 small rows instead of a day of events
-- (issue #18: 789 ms over the last day of a 1,000,000-event trail). The chain is part of the
-- key so that nodes, each appending to its own chain, never wait for each other's count row.
-- A statement-level trigger counts a whole group commit (or a copy's chunk, or a prune) in one
-- statement; events without an account are not counted (the overview asks for one account).

CREATE TABLE audit_hourly (
    account TEXT NOT NULL,
    hour BIGINT NOT NULL,
    chain TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (account, hour, chain)
);

INSERT INTO audit_hourly (account, hour, chain, events)
SELECT account, event_time - ((event_time % 3600000) + 3600000) % 3600000, chain, count(*)
FROM audit_events WHERE account IS NOT NULL
GROUP BY 1, 2, 3;

CREATE FUNCTION kinko_audit_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_hourly AS h (account, hour, chain, events)
    SELECT account, event_time - ((event_time % 3600000) + 3600000) % 3600000, chain, count(*)
    FROM new_events WHERE account IS NOT NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (account, hour, chain) DO UPDATE SET events = h.events + excluded.events;
    RETURN NULL;
END
$$;

CREATE FUNCTION kinko_audit_hourly_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_hourly h SET events = h.events - gone.n FROM (
        SELECT account, event_time - ((event_time % 3600000) + 3600000) % 3600000 AS hour,
               chain, count(*) AS n
        FROM old_events WHERE account IS NOT NULL
        GROUP BY 1, 2, 3
    ) AS gone
    WHERE h.account = gone.account AND h.hour = gone.hour AND h.chain = gone.chain;
    DELETE FROM audit_hourly
    WHERE events <= 0 AND chain IN (SELECT DISTINCT chain FROM old_events);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_hourly_add AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT
    EXECUTE FUNCTION kinko_audit_hourly_add();
CREATE TRIGGER audit_hourly_remove AFTER DELETE ON audit_events
    REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT
    EXECUTE FUNCTION kinko_audit_hourly_remove();
