-- Changes of staff users — added, reset, disabled, a password changed by
-- its owner —, who made them and when: the users page lists the latest.
-- property_id is the changed user's property when they work on one alone
-- (NULL: every property), so that an admin of one property sees the
-- changes of their property's users.
CREATE TABLE staff_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,      -- staff:anna, cli:keyrack user
    action      text NOT NULL,      -- staff_user.add, .reset, .disable, .password
    subject     text NOT NULL,      -- the user's name
    property_id bigint REFERENCES properties (id) ON DELETE CASCADE,
    details     jsonb NOT NULL DEFAULT '{}'
);

---- create above / drop below ----

DROP TABLE staff_audit;
