-- Which form a failed password was typed in: the login form ('login', as
-- every failure was until now) or a logged-in user's account page, where
-- the current password is checked before a change ('account'). Each is
-- counted apart (Store.StaffLoginFrom, Store.StaffPasswordCheckFrom): someone
-- guessing a user's password at the login form does not stop that user,
-- logged in, changing it.
ALTER TABLE staff_login_failures ADD COLUMN form text NOT NULL DEFAULT 'login'
    CHECK (form IN ('login', 'account'));

---- create above / drop below ----

DELETE FROM staff_login_failures WHERE form <> 'login';
ALTER TABLE staff_login_failures DROP COLUMN form;
