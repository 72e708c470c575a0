-- When each staff user was last seen, kept past their sessions: "last seen"
-- (the users page, keyrack user list) was read from live sessions only, so
-- a user who logged out, or whose session ran out, showed as never seen,
-- and admins looking for accounts no one uses could not tell. A session
-- ending — logout, expiry, a reset or disabled user, a password changed —
-- hands its last use to the user, in the database, whichever code ends it.
ALTER TABLE staff_users ADD COLUMN last_seen_at timestamptz;

UPDATE staff_users u SET last_seen_at = s.seen
FROM (SELECT user_id, max(last_seen_at) AS seen FROM staff_sessions GROUP BY user_id) s
WHERE s.user_id = u.id;

CREATE FUNCTION staff_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE staff_users SET last_seen_at = greatest(last_seen_at, OLD.last_seen_at) WHERE id = OLD.user_id;
    RETURN OLD;
END
$$;

CREATE TRIGGER staff_session_ended BEFORE DELETE ON staff_sessions
    FOR EACH ROW EXECUTE FUNCTION staff_session_ended();

---- create above / drop below ----

DROP TRIGGER staff_session_ended ON staff_sessions;
DROP FUNCTION staff_session_ended();
ALTER TABLE staff_users DROP COLUMN last_seen_at;
