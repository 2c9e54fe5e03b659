-- Kinko schema v9: every LookupEvents attribute and every `kinko audit query` filter answered
-- from an index, newest first (each index ends with the trail's order: event_time, chain, seq).
-- The columns were already filled at append time; creating the indexes indexes the existing
-- rows. The user name is CloudTrail's `Username`, the last segment of the principal ARN
-- (`kinko_core::user_name`), indexed as an expression so that no row is rewritten.
-- Already indexed before this step: event_id, key_id, source_key_id, principal_arn.

CREATE INDEX audit_events_by_name ON audit_events (event_name, event_time, chain, seq);
CREATE INDEX audit_events_by_source ON audit_events (event_source, event_time, chain, seq);
CREATE INDEX audit_events_by_user
    ON audit_events ((regexp_replace(principal_arn, '^.*[/:]', '')), event_time, chain, seq)
    WHERE principal_arn IS NOT NULL;
CREATE INDEX audit_events_by_access_key ON audit_events (access_key_id, event_time, chain, seq)
    WHERE access_key_id IS NOT NULL;
CREATE INDEX audit_events_by_read_only ON audit_events (read_only, event_time, chain, seq);
CREATE INDEX audit_events_naming_a_key ON audit_events (event_time, chain, seq)
    WHERE key_id IS NOT NULL OR source_key_id IS NOT NULL;
CREATE INDEX audit_events_failed ON audit_events (event_time, chain, seq)
    WHERE error_code IS NOT NULL;
