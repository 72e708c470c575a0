package inventory

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// Staff roles: an admin changes things, a viewer only reads.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// StaffUser is a person who logs in to the admin UI.
type StaffUser struct {
	ID        int64
	Name      string
	Role      string
	CreatedAt time.Time
	// Property is the code of the one property the user works on; "" is
	// every property.
	Property string
	// session is the hash of the session the user was found by (StaffLogin,
	// StaffSession); zero when they were not.
	session [32]byte
}

// CanEdit reports whether the user may change anything.
func (u StaffUser) CanEdit() bool { return u.Role == RoleAdmin }

// Sees reports whether the user works on property (a code).
func (u StaffUser) Sees(property string) bool { return u.Property == "" || u.Property == property }

// staffUserColumns are a StaffUser's columns, of staff_users u LEFT JOIN
// properties p, in the order of its fields.
const staffUserColumns = `u.id, u.name, u.role, u.created_at, coalesce(p.code, '')`

func (u *StaffUser) fields() []any { return []any{&u.ID, &u.Name, &u.Role, &u.CreatedAt, &u.Property} }

// Actor is who the user's changes are audited as.
func (u StaffUser) Actor() Actor { return Actor{Kind: "staff", Name: u.Name} }

// SessionTTL is how long a login lasts without being used.
const SessionTTL = 12 * time.Hour

// SessionRenewal is how often a session in use is extended to SessionTTL
// from then: at most once in it, so that the cookie carrying the session
// is sent again only then, not with every page.
const SessionRenewal = 5 * time.Minute

// MinPasswordLength is the shortest password a staff user may have.
const MinPasswordLength = 10

var staffNameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// CreateStaffUser adds a staff user of every property, or sets the role
// and password of an existing one of that name (so the command that adds
// users also resets passwords), enables it and makes it every property's.
// The password is kept as a bcrypt hash.
func (s *Store) CreateStaffUser(ctx context.Context, name, role, password string, by Actor) (StaffUser, error) {
	return s.CreatePropertyStaffUser(ctx, name, role, "", password, by)
}

// CreatePropertyStaffUser is CreateStaffUser for a user who works on one
// property (its code; "" for every property): they see and change that
// property only. Adding an existing user sets their property too.
func (s *Store) CreatePropertyStaffUser(ctx context.Context, name, role, property, password string, by Actor) (StaffUser, error) {
	return s.setStaffUser(ctx, by, nil, name, role, property, password)
}

// SetStaffUserAs is CreatePropertyStaffUser done by staff user by, in the
// admin pages: a user of one property adds and resets users of that
// property only — property must be theirs (EINVALID), and a user of that
// name who works elsewhere is out of their reach (ECONFLICT, nothing
// changed, the message saying neither that the name is taken nor where). by must still be what they were (lockStaffActor).
func (s *Store) SetStaffUserAs(ctx context.Context, by StaffUser, name, role, property, password string) (StaffUser, error) {
	if by.Property != "" && property != by.Property {
		return StaffUser{}, Errorf(EINVALID, "you add users of %s only", by.Property)
	}
	return s.setStaffUser(ctx, by.Actor(), &by, name, role, property, password)
}

// lockStaffActor makes sure, in tx, that the staff user by who changes
// staff user target is still what their request found: enabled, an admin,
// of the same property, in the session by was found by (when by was) —
// one disabled, made a viewer, moved or reset meanwhile is EUNAUTHORIZED:
// the request of a session an admin has just ended does not go through
// after all. It locks both rows, in the order of their ids, so that
// a change of by waits for this one to be over, or this one sees it; two
// admins changing each other at once wait in turn instead of deadlocking.
func lockStaffActor(ctx context.Context, tx pgx.Tx, by StaffUser, target string) error {
	rows, err := tx.Query(ctx, `SELECT u.id, u.role, u.disabled_at IS NULL, coalesce(p.code, '')
		FROM staff_users u LEFT JOIN properties p ON p.id = u.property_id
		WHERE u.id = $1 OR u.name = $2 ORDER BY u.id FOR NO KEY UPDATE OF u`, by.ID, target)
	if err != nil {
		return err
	}
	still := false
	for rows.Next() {
		var id int64
		var role, property string
		var enabled bool
		if err := rows.Scan(&id, &role, &enabled, &property); err != nil {
			rows.Close()
			return err
		}
		if id == by.ID {
			still = enabled && role == RoleAdmin && role == by.Role && property == by.Property
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if still && by.session != [32]byte{} {
		// A statement of its own, after the lock: it sees the sessions a
		// change of by committed while this waited.
		if still, err = sessionLive(ctx, tx, by.ID, by.session); err != nil {
			return err
		}
	}
	if !still {
		return Errorf(EUNAUTHORIZED, "your account was changed or disabled meanwhile: nothing changed")
	}
	return nil
}

// sessionLive reports whether staff user id still has the session whose
// token hashes to hash.
func sessionLive(ctx context.Context, tx pgx.Tx, id int64, hash [32]byte) (bool, error) {
	var live bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff_sessions WHERE user_id = $1 AND token_hash = $2)`, id, hash[:]).Scan(&live)
	return live, err
}

// reach is the property whose users staff user by may change ("" for
// every property's, and when there is no by: the command line).
func (by *StaffUser) reach() string {
	if by == nil {
		return ""
	}
	return by.Property
}

// setStaffUser adds or resets a staff user, audited as actor; by, when
// set, is the staff user doing it, and an existing user of that name must
// work on by's property alone when by does.
func (s *Store) setStaffUser(ctx context.Context, actor Actor, by *StaffUser, name, role, property, password string) (StaffUser, error) {
	if !staffNameRE.MatchString(name) {
		return StaffUser{}, Errorf(EINVALID, "a user name is 1 to 64 letters, digits and . _ @ -")
	}
	if name == "." || name == ".." {
		// In the users page's addresses (/admin/users/NAME/disable) they
		// are steps up the path, taken by the browser before it sends.
		return StaffUser{}, Errorf(EINVALID, "a user name is not . or ..")
	}
	if role != RoleAdmin && role != RoleViewer {
		return StaffUser{}, Errorf(EINVALID, "role %q: want admin or viewer", role)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return StaffUser{}, err
	}
	u := StaffUser{Name: name, Role: role}
	within := by.reach()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if by != nil {
			if err := lockStaffActor(ctx, tx, *by, name); err != nil {
				return err
			}
		}
		var propID *int64
		if property != "" {
			prop, err := propertyByCode(ctx, tx, cleanText(property)) // a code PostgreSQL cannot hold is nobody's
			if err != nil {
				return err
			}
			propID, u.Property = &prop.ID, prop.Code
		}
		var added bool
		err := tx.QueryRow(ctx, `INSERT INTO staff_users (name, role, password_hash, property_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
				property_id = EXCLUDED.property_id, disabled_at = NULL
			WHERE $5 = '' OR staff_users.property_id = $4
			RETURNING id, created_at, xmax = 0`, name, role, string(hash), propID, within).Scan(&u.ID, &u.CreatedAt, &added)
		if errors.Is(err, pgx.ErrNoRows) {
			// Only an admin of one property gets here, and the user of
			// that name is one they cannot see: not said to be taken, nor
			// where — the name cannot be used, whoever has it.
			return Errorf(ECONFLICT, "the name %s cannot be used: choose another (nothing changed)", name)
		}
		if err != nil {
			return err
		}
		action := "staff_user.reset"
		if added {
			action = "staff_user.add"
		}
		if err := staffAudit(ctx, tx, actor, action, u.ID, map[string]any{"role": role, "property": cmp.Or(u.Property, "*")}); err != nil {
			return err
		}
		// A new password ends the user's sessions.
		_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, u.ID)
		return err
	})
	return u, err
}

// staffAudit records a change of staff user id (staff_audit).
func staffAudit(ctx context.Context, tx pgx.Tx, by Actor, action string, id int64, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO staff_audit (actor, action, subject, property_id, details)
		SELECT $1, $2, name, property_id, $4 FROM staff_users WHERE id = $3`, by.String(), action, id, details)
	return err
}

// StaffAuditEntry is a change of a staff user.
type StaffAuditEntry struct {
	At      time.Time
	Actor   string
	Action  string
	Subject string
	Details map[string]any
}

// StaffAudit lists the latest limit changes of staff users, newest first:
// of the users of property (a code) alone, or of everyone when property
// is "".
func (s *Store) StaffAudit(ctx context.Context, property string, limit int) ([]StaffAuditEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT a.at, a.actor, a.action, a.subject, a.details FROM staff_audit a
		LEFT JOIN properties p ON p.id = a.property_id
		WHERE $1 = '' OR p.code = $1 ORDER BY a.id DESC LIMIT $2`, property, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (StaffAuditEntry, error) {
		var e StaffAuditEntry
		err := row.Scan(&e.At, &e.Actor, &e.Action, &e.Subject, &e.Details)
		return e, err
	})
}

// hashPassword checks a new password's length and hashes it.
func hashPassword(password string) ([]byte, error) {
	if len(password) < MinPasswordLength {
		return nil, Errorf(EINVALID, "a password is at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 {
		return nil, Errorf(EINVALID, "a password is at most 72 bytes")
	}
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// SetStaffPassword gives staff user name a new password and ends every
// session of theirs but keep (a session token; "" for none): the user
// changing their own password stays logged in there, and anyone else who
// had their password is logged out. A session keep that has ended (an
// admin reset or disabled the user meanwhile) is EUNAUTHORIZED, and
// nothing changes.
func (s *Store) SetStaffPassword(ctx context.Context, name, password, keep string) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	k := sha256.Sum256([]byte(keep))
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `UPDATE staff_users SET password_hash = $2 WHERE name = $1 AND disabled_at IS NULL RETURNING id`,
			cleanText(name), string(hash)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(ENOTFOUND, "no staff user %q", name)
		}
		if err != nil {
			return err
		}
		if keep != "" {
			// The change is made from the kept session: if a reset or a
			// disable ended it meanwhile (they change the row locked above,
			// so this statement sees all they did), the change is theirs
			// to overrule, not to undo.
			live, err := sessionLive(ctx, tx, id, k)
			if err != nil {
				return err
			}
			if !live {
				return Errorf(EUNAUTHORIZED, "your session has ended (an admin reset or disabled your account): nothing changed")
			}
		}
		if err := staffAudit(ctx, tx, Actor{Kind: "staff", Name: name}, "staff_user.password", id, nil); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE user_id = $1 AND token_hash <> $2`, id, k[:])
		return err
	})
}

// dummyHash is compared against when the user does not exist, so that a
// wrong name takes as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("keyrack dummy password"), bcrypt.DefaultCost)

// ErrBadLogin is a wrong user name or password (deliberately not saying which).
var ErrBadLogin = Errorf(EUNAUTHORIZED, "wrong user name or password")

// Failed logins are counted over LoginWindow: past LoginFailuresPerName for
// one user name (from anywhere) or LoginFailuresPerClient from one client
// address (whatever the names), StaffLoginFrom refuses further attempts with
// a LoginThrottled error until the oldest failure of the window has aged
// out, without checking the password. A good login clears its name's
// failures. Wrong current passwords on the account page (StaffPasswordCheckFrom)
// are counted apart, by user name only, against the same LoginFailuresPerName.
const (
	LoginWindow            = 15 * time.Minute
	LoginFailuresPerName   = 10
	LoginFailuresPerClient = 50
)

// LoginThrottled is the error of a login refused for too many failures.
type LoginThrottled struct {
	// RetryAfter is when an attempt will be checked again.
	RetryAfter time.Duration
	// ByName is true when the user name's failures are the reason, false
	// when the client's are.
	ByName bool
	// User is the name tried when it is a staff user's, "" when it is
	// nobody's: what is typed as a name is sometimes a password, and is not
	// for the logs.
	User string
}

func (e *LoginThrottled) Error() string {
	return "too many failed logins; try again in " + e.RetryAfter.String()
}

// loginLocks is what an attempt locks while it is counted: its name (of
// its form, $3), then its client. The schema is part of the keys because
// advisory locks are per database and tests share one.
const loginLocks = `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/keyrack/' || $3 || '/name/' || $1, 0)),
	pg_advisory_xact_lock(hashtextextended(current_schema() || '/keyrack/login/client/' || $2, 0))`

// The forms a password is typed in, whose failures are counted apart
// (staff_login_failures.form).
const (
	loginForm   = "login"   // the login page
	accountForm = "account" // a logged-in user's current password, before a change
)

// StaffLoginFrom is StaffLogin for a client at remote (its address), with
// failed logins throttled (LoginWindow). An attempt is counted as a failure
// before its password is checked, under locks on its name and client, and
// uncounted only if the password proves right: guesses sent at once are
// limited like guesses sent one after another (counted after the check,
// all of sixty concurrent guesses were checked against a limit of ten).
func (s *Store) StaffLoginFrom(ctx context.Context, name, password, remote string) (StaffUser, string, error) {
	return s.staffPasswordFrom(ctx, loginForm, name, password, remote)
}

// StaffPasswordCheckFrom is StaffLoginFrom for the account page, where a
// logged-in user types their current password to change it: its failures
// are counted apart, by user name alone — a session someone else has
// guesses LoginFailuresPerName times a LoginWindow there, and no more —
// and failed logins do not count: someone guessing the user's password at
// the login form, which they hold back, does not stop the user changing it.
// (Nor do these failures hold back logins.)
func (s *Store) StaffPasswordCheckFrom(ctx context.Context, name, password, remote string) (StaffUser, string, error) {
	return s.staffPasswordFrom(ctx, accountForm, name, password, remote)
}

// staffPasswordFrom checks a password typed in form, counted (StaffLoginFrom).
func (s *Store) staffPasswordFrom(ctx context.Context, form, name, password, remote string) (StaffUser, string, error) {
	// What is counted is what was typed, made storable and cut short: a
	// name that long is nobody's anyway.
	key := cleanText(name)
	if r := []rune(key); len(r) > 64 {
		key = string(r[:64])
	}
	remote = cleanText(remote)
	var failedAt time.Time
	var throttled *LoginThrottled
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, loginLocks, key, remote, form); err != nil {
			return err
		}
		var byName, byClient int
		var nameWait, clientWait float64 // seconds
		var known bool
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE name = $1 AND form = $4),
				coalesce(extract(epoch FROM min(failed_at) FILTER (WHERE name = $1 AND form = $4) + $3::interval - now()), 0)::float8,
				count(*) FILTER (WHERE remote = $2 AND form = 'login'),
				coalesce(extract(epoch FROM min(failed_at) FILTER (WHERE remote = $2 AND form = 'login') + $3::interval - now()), 0)::float8,
				EXISTS (SELECT 1 FROM staff_users WHERE name = $1)
			FROM staff_login_failures
			WHERE (name = $1 OR remote = $2) AND failed_at > now() - $3::interval`, key, remote, LoginWindow, form).
			Scan(&byName, &nameWait, &byClient, &clientWait, &known); err != nil {
			return err
		}
		wait := func(seconds float64) time.Duration {
			return max(time.Duration(seconds*float64(time.Second)).Round(time.Second), time.Second)
		}
		switch {
		case byName >= LoginFailuresPerName:
			throttled = &LoginThrottled{RetryAfter: wait(nameWait), ByName: true}
		// Not on the account page: its user is logged in, and the failed
		// logins of others at their address (a proxy not named has
		// everyone's) are not theirs.
		case form == loginForm && byClient >= LoginFailuresPerClient:
			throttled = &LoginThrottled{RetryAfter: wait(clientWait)}
		default:
			return tx.QueryRow(ctx, `
				WITH old AS (DELETE FROM staff_login_failures WHERE failed_at <= now() - $3::interval)
				INSERT INTO staff_login_failures (name, remote, form) VALUES ($1, $2, $4) RETURNING failed_at`, key, remote, LoginWindow, form).Scan(&failedAt)
		}
		if known && key == name {
			throttled.User = name
		}
		return nil
	})
	if err != nil {
		return StaffUser{}, "", err
	}
	if throttled != nil {
		return StaffUser{}, "", throttled
	}
	u, token, err := s.StaffLogin(ctx, name, password)
	// The failure counted stays counted if the password was wrong, or if
	// the request went away while it was checked.
	cleanup := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		// A good login clears its name's failures (of its form).
		if _, cerr := s.db.Exec(cleanup, `DELETE FROM staff_login_failures WHERE name = $1 AND form = $2`, key, form); cerr != nil {
			return StaffUser{}, "", cerr
		}
	case !errors.Is(err, ErrBadLogin) && ctx.Err() == nil:
		// The store failed before the password was known to be wrong: not a
		// failure of the login.
		_, _ = s.db.Exec(cleanup, `DELETE FROM staff_login_failures WHERE ctid IN (SELECT ctid FROM staff_login_failures
			WHERE name = $1 AND remote = $2 AND failed_at = $3 AND form = $4 LIMIT 1)`, key, remote, failedAt, form)
	}
	return u, token, err
}

// StaffLogin checks a user's password and opens a session; the returned
// token goes into the session cookie and is stored only as a hash.
func (s *Store) StaffLogin(ctx context.Context, name, password string) (StaffUser, string, error) {
	var u StaffUser
	var hash string
	err := pgx.ErrNoRows
	// A name PostgreSQL cannot hold (a NUL, bytes that are not UTF-8) is
	// nobody's: a wrong login like any other, not a failed query.
	if cleanText(name) == name {
		err = s.db.QueryRow(ctx, `SELECT `+staffUserColumns+`, u.password_hash FROM staff_users u
			LEFT JOIN properties p ON p.id = u.property_id
			WHERE u.name = $1 AND u.disabled_at IS NULL`, name).Scan(append(u.fields(), &hash)...)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return StaffUser{}, "", ErrBadLogin
	}
	if err != nil {
		return StaffUser{}, "", err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return StaffUser{}, "", ErrBadLogin
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return StaffUser{}, "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	// The session opens only if the password checked is still the user's:
	// a password changed (or the user reset or disabled) while it was
	// checked ends the sessions it finds, and this one would not be among
	// them. The row lock orders the two: the change waits for this session
	// to be there to end it, or this finds the new password.
	tag, err := s.db.Exec(ctx, `INSERT INTO staff_sessions (token_hash, user_id, expires_at)
		SELECT $1, id, now() + $3::interval FROM staff_users
		WHERE id = $2 AND password_hash = $4 AND disabled_at IS NULL FOR SHARE`,
		h[:], u.ID, SessionTTL, hash)
	if err != nil {
		return StaffUser{}, "", err
	}
	if tag.RowsAffected() == 0 {
		return StaffUser{}, "", ErrBadLogin
	}
	u.session = h
	_, _ = s.db.Exec(ctx, `DELETE FROM staff_sessions WHERE expires_at < now()`)
	return u, token, nil
}

// StaffSession finds the user of a live session; an unknown or expired
// session, or a disabled user, is EUNAUTHORIZED. A session used is extended
// to SessionTTL from now when it was last extended over SessionRenewal ago;
// renewed says it was, so that the caller sends the browser the cookie
// again with the new lifetime.
func (s *Store) StaffSession(ctx context.Context, token string) (u StaffUser, renewed bool, err error) {
	h := sha256.Sum256([]byte(token))
	err = s.db.QueryRow(ctx, `UPDATE staff_sessions ss SET last_seen_at = now(),
			expires_at = CASE WHEN ss.expires_at < now() + $2::interval - $3::interval THEN now() + $2::interval ELSE ss.expires_at END
		FROM staff_users u LEFT JOIN properties p ON p.id = u.property_id
		WHERE ss.token_hash = $1 AND ss.expires_at > now() AND u.id = ss.user_id AND u.disabled_at IS NULL
		RETURNING `+staffUserColumns+`, ss.expires_at = now() + $2::interval`, h[:], SessionTTL, SessionRenewal).
		Scan(append(u.fields(), &renewed)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, false, Errorf(EUNAUTHORIZED, "not logged in")
	}
	u.session = h
	return u, renewed, err
}

// StaffLogout ends a session.
func (s *Store) StaffLogout(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	_, err := s.db.Exec(ctx, `DELETE FROM staff_sessions WHERE token_hash = $1`, h[:])
	return err
}

// StaffUserInfo is a staff user as the operator lists them.
type StaffUserInfo struct {
	StaffUser
	// DisabledAt is when the user was disabled; nil while they may log in.
	DisabledAt *time.Time
	// LastSeenAt is the latest use of any of the user's sessions, ended
	// ones too (migration 042).
	LastSeenAt *time.Time
}

// StaffUsers lists every staff user, by name.
func (s *Store) StaffUsers(ctx context.Context) ([]StaffUserInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT `+staffUserColumns+`, u.disabled_at, greatest(u.last_seen_at, max(ss.last_seen_at))
		FROM staff_users u LEFT JOIN properties p ON p.id = u.property_id
			LEFT JOIN staff_sessions ss ON ss.user_id = u.id AND ss.expires_at > now()
		GROUP BY u.id, p.code ORDER BY u.name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (StaffUserInfo, error) {
		var u StaffUserInfo
		err := row.Scan(append(u.fields(), &u.DisabledAt, &u.LastSeenAt)...)
		return u, err
	})
}

// DisableStaffUser stops a staff user logging in and ends their sessions
// at once: the pages they have open answer with the login page. Adding the
// user again (CreateStaffUser, with a new password) enables them. A name
// that is nobody's is ENOTFOUND; disabling a disabled user changes nothing.
func (s *Store) DisableStaffUser(ctx context.Context, name string, by Actor) (StaffUserInfo, error) {
	return s.disableStaffUser(ctx, by, nil, name)
}

// DisableStaffUserAs is DisableStaffUser done by staff user by, in the
// admin pages: a user of one property disables users of that property
// only — any other is ENOTFOUND to them. by must still be what they were
// (lockStaffActor).
func (s *Store) DisableStaffUserAs(ctx context.Context, by StaffUser, name string) (StaffUserInfo, error) {
	return s.disableStaffUser(ctx, by.Actor(), &by, name)
}

// disableStaffUser disables staff user name, audited as actor; by, when
// set, is the staff user doing it.
func (s *Store) disableStaffUser(ctx context.Context, actor Actor, by *StaffUser, name string) (StaffUserInfo, error) {
	var u StaffUserInfo
	within := by.reach()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if by != nil {
			if err := lockStaffActor(ctx, tx, *by, cleanText(name)); err != nil {
				return err
			}
		}
		var was bool // enabled until now
		err := tx.QueryRow(ctx, `UPDATE staff_users u SET disabled_at = coalesce(u.disabled_at, now())
			FROM staff_users x LEFT JOIN properties p ON p.id = x.property_id
			WHERE u.name = $1 AND x.id = u.id AND ($2 = '' OR p.code = $2)
			RETURNING `+staffUserColumns+`, u.disabled_at, x.disabled_at IS NULL`, cleanText(name), within).
			Scan(append(u.fields(), &u.DisabledAt, &was)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return Errorf(ENOTFOUND, "no staff user %q", name)
		}
		if err != nil {
			return err
		}
		if was {
			if err := staffAudit(ctx, tx, actor, "staff_user.disable", u.ID, nil); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, u.ID)
		return err
	})
	return u, err
}
