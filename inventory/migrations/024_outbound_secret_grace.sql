-- A PMS verifies keyrack's webhooks with the channel's outbound secret.
-- When staff set a new one, the PMS switches some time later; until then
-- webhooks signed with the new secret alone were refused (401, a failure
-- for good). The previous secret is kept, sealed, for a day, and webhooks
-- carry a signature with each (pms.Verify takes any of several v1 values).
ALTER TABLE channels
	ADD COLUMN outbound_secret_prev_sealed bytea,
	ADD COLUMN outbound_secret_prev_until timestamptz;

---- create above / drop below ----

ALTER TABLE channels DROP COLUMN outbound_secret_prev_sealed, DROP COLUMN outbound_secret_prev_until;
