-- Failed staff logins of the last minutes, by user name (as typed) and
-- client address, so that a password cannot be guessed at bcrypt's pace
-- for ever (Store.StaffLoginFrom). Rows older than the window are deleted
-- as new ones come.
CREATE TABLE staff_login_failures (
    name      text NOT NULL,
    remote    text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_login_failures_name ON staff_login_failures (name, failed_at);
CREATE INDEX staff_login_failures_remote ON staff_login_failures (remote, failed_at);

---- create above / drop below ----

DROP TABLE staff_login_failures;
