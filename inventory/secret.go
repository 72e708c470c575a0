package inventory

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Secrets protects channel credentials with the deployment's KEYRACK_SECRET:
// what a channel presents to us is kept only as an HMAC-SHA256 under a key
// derived from it, and what we present to a channel is sealed with AES-256-GCM
// under another derived key. Neither is ever stored or logged in clear.
type Secrets struct {
	hashKey [32]byte
	sealKey [32]byte
}

// NewSecrets derives the keys from the deployment secret, which must be at
// least 16 bytes.
func NewSecrets(secret string) (*Secrets, error) {
	if len(secret) < 16 {
		return nil, errors.New("KEYRACK_SECRET must be at least 16 characters")
	}
	s := &Secrets{}
	s.hashKey = derive(secret, "keyrack inbound credential hash v1")
	s.sealKey = derive(secret, "keyrack outbound credential seal v1")
	return s, nil
}

func derive(secret, purpose string) [32]byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// Hash is the stored form of an inbound secret.
func (s *Secrets) Hash(secret string) []byte {
	m := hmac.New(sha256.New, s.hashKey[:])
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Seal encrypts an outbound secret; the result carries its nonce.
func (s *Secrets) Seal(plain string) ([]byte, error) {
	gcm, err := s.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, []byte(plain), nil), nil
}

// Open decrypts what Seal produced.
func (s *Secrets) Open(sealed []byte) (string, error) {
	gcm, err := s.gcm()
	if err != nil {
		return "", err
	}
	if len(sealed) < gcm.NonceSize() {
		return "", errors.New("sealed credential is too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		return "", errors.New("sealed credential does not open with this KEYRACK_SECRET")
	}
	return string(plain), nil
}

func (s *Secrets) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.sealKey[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Credentials of a channel: what it presents to us (Inbound) and what we
// present to it (Outbound). An empty secret leaves that side unchanged.
type Credentials struct {
	InboundUser    string
	InboundSecret  string
	OutboundUser   string
	OutboundSecret string
	ClearInbound   bool // remove the inbound secret
	ClearOutbound  bool // remove the outbound secret
}

// OutboundSecretGrace is how long a replaced outbound secret still signs a
// PMS's webhooks, beside the new one: the time its staff have to switch
// the PMS to the new secret.
const OutboundSecretGrace = 24 * time.Hour

// SetChannelCredentials stores a channel's credentials, hashed and sealed.
// A new outbound secret keeps the one it replaces for OutboundSecretGrace
// (see OutboundSecretGrace); clearing it clears both.
func (s *Store) SetChannelCredentials(ctx context.Context, sec *Secrets, property, channel string, c Credentials, by Actor) error {
	if sec == nil {
		return Errorf(EINVALID, "credentials cannot be stored without KEYRACK_SECRET")
	}
	var inHash, outSealed []byte
	if c.InboundSecret != "" {
		inHash = sec.Hash(c.InboundSecret)
	}
	if c.OutboundSecret != "" {
		var err error
		if outSealed, err = sec.Seal(c.OutboundSecret); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prop, err := propertyByCode(ctx, tx, property)
		if err != nil {
			return err
		}
		// The same outbound secret set again (a retried PUT) replaces
		// nothing: it must not become its own "replaced" secret and end
		// the grace of the one it did replace.
		rotate := true
		if c.OutboundSecret != "" {
			var current []byte
			err := tx.QueryRow(ctx, `SELECT outbound_secret_sealed FROM channels WHERE property_id = $1 AND code = $2 FOR UPDATE`,
				prop.ID, channel).Scan(&current)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if current != nil {
				if old, err := sec.Open(current); err == nil && hmac.Equal([]byte(old), []byte(c.OutboundSecret)) {
					rotate, outSealed = false, current
				}
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE channels SET
				inbound_username = coalesce(nullif($3, ''), inbound_username),
				inbound_secret_hash = CASE WHEN $7 THEN NULL ELSE coalesce($4, inbound_secret_hash) END,
				outbound_username = coalesce(nullif($5, ''), outbound_username),
				outbound_secret_sealed = CASE WHEN $8 THEN NULL ELSE coalesce($6, outbound_secret_sealed) END,
				-- A new outbound secret keeps the one it replaces for
				-- OutboundSecretGrace: webhooks are signed with both until
				-- the PMS has switched (the right side reads the old row).
				outbound_secret_prev_sealed = CASE WHEN $8 THEN NULL
					WHEN $6::bytea IS NOT NULL AND outbound_secret_sealed IS NOT NULL AND $10 THEN outbound_secret_sealed
					ELSE outbound_secret_prev_sealed END,
				outbound_secret_prev_until = CASE WHEN $8 THEN NULL
					WHEN $6::bytea IS NOT NULL AND outbound_secret_sealed IS NOT NULL AND $10 THEN now() + $9::interval
					ELSE outbound_secret_prev_until END
			WHERE property_id = $1 AND code = $2`,
			prop.ID, channel, c.InboundUser, inHash, c.OutboundUser, outSealed, c.ClearInbound, c.ClearOutbound, OutboundSecretGrace, rotate)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Errorf(ENOTFOUND, "channel %s does not exist in property %s", channel, property)
		}
		if c.OutboundUser != "" || c.OutboundSecret != "" && rotate || c.ClearOutbound {
			// The credentials a pull-mode channel's polls present.
			var id int64
			err := tx.QueryRow(ctx, `SELECT id FROM channels WHERE property_id = $1 AND code = $2 AND kind = $3`,
				prop.ID, channel, ChannelOTAPull).Scan(&id)
			switch {
			case err == nil:
				if err := pollSoon(ctx, tx, prop.ID, id); err != nil {
					return err
				}
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		return audit(ctx, tx, prop.ID, by, "channel.credentials", "channel "+channel, map[string]any{
			"inbound_user": c.InboundUser, "inbound_secret_changed": c.InboundSecret != "" || c.ClearInbound,
			"outbound_user": c.OutboundUser, "outbound_secret_changed": (c.OutboundSecret != "" && rotate) || c.ClearOutbound,
		})
	})
}

// CheckChannelSecret reports whether user and secret are the inbound
// credentials of the channel, comparing in constant time.
func (s *Store) CheckChannelSecret(ctx context.Context, sec *Secrets, property, channel, user, secret string) (bool, error) {
	if sec == nil {
		return false, Errorf(EINVALID, "credentials cannot be checked without KEYRACK_SECRET")
	}
	var wantUser string
	var wantHash []byte
	err := s.db.QueryRow(ctx, `SELECT c.inbound_username, c.inbound_secret_hash FROM channels c
		JOIN properties p ON p.id = c.property_id WHERE p.code = $1 AND c.code = $2`, property, channel).Scan(&wantUser, &wantHash)
	if err != nil {
		return false, notFound(err, "channel %s does not exist in property %s", channel, property)
	}
	if wantHash == nil {
		return false, nil
	}
	okUser := hmac.Equal([]byte(user), []byte(wantUser))
	okSecret := hmac.Equal(sec.Hash(secret), wantHash)
	return okUser && okSecret, nil
}

// OutboundCredentials opens the credentials keyrack presents to a channel.
func (s *Store) OutboundCredentials(ctx context.Context, sec *Secrets, property, channel string) (user, secret string, err error) {
	if sec == nil {
		return "", "", Errorf(EINVALID, "credentials cannot be opened without KEYRACK_SECRET")
	}
	var sealed []byte
	err = s.db.QueryRow(ctx, `SELECT c.outbound_username, c.outbound_secret_sealed FROM channels c
		JOIN properties p ON p.id = c.property_id WHERE p.code = $1 AND c.code = $2`, property, channel).Scan(&user, &sealed)
	if err != nil {
		return "", "", notFound(err, "channel %s does not exist in property %s", channel, property)
	}
	if sealed == nil {
		return user, "", nil
	}
	secret, err = sec.Open(sealed)
	if err != nil {
		return "", "", fmt.Errorf("channel %s: %w", channel, err)
	}
	return user, secret, nil
}

// Key derives a 256-bit key for purpose (e.g. the admin UI's CSRF tokens)
// from the deployment secret, so that it survives restarts and is the same
// in every process.
func (s *Secrets) Key(purpose string) [32]byte {
	m := hmac.New(sha256.New, s.hashKey[:])
	m.Write([]byte("keyrack derived key v1: " + purpose))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// CheckSecret makes sure sec is the secret the database's credentials were
// sealed with: a keyrack process started with another one (a typo in one
// unit file, a changed KEYRACK_SECRET) has every delivery to those channels
// refused as permanent, dead-lettering them, and every message from them
// answered 401. It fails when the database holds channel credentials or
// iCal feed URLs and sec is nil or opens none of the sealed ones; when sec
// opens some, it returns the channels ("PROPERTY/CHANNEL") whose sealed
// values it does not open — sealed by a process that ran with another
// secret — for the caller to say so.
func (s *Store) CheckSecret(ctx context.Context, sec *Secrets) (unopened []string, err error) {
	rows, _ := s.db.Query(ctx, `
		SELECT p.code || '/' || c.code, c.outbound_secret_sealed FROM channels c JOIN properties p ON p.id = c.property_id
		WHERE c.outbound_secret_sealed IS NOT NULL OR c.inbound_secret_hash IS NOT NULL
		UNION ALL
		SELECT p.code || '/' || c.code, f.url_sealed FROM ical_feeds f
		JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id JOIN properties p ON p.id = f.property_id`)
	var channel string
	var sealed []byte
	credentials, opened := 0, 0
	_, err = pgx.ForEachRow(rows, []any{&channel, &sealed}, func() error {
		credentials++
		if sec == nil || sealed == nil { // an inbound secret's hash cannot be checked
			return nil
		}
		if _, err := sec.Open(sealed); err == nil {
			opened++
		} else if !slices.Contains(unopened, channel) {
			unopened = append(unopened, channel)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("check KEYRACK_SECRET against the sealed credentials: %w", err)
	case sec == nil && credentials > 0:
		return nil, fmt.Errorf("KEYRACK_SECRET is not set, and the database holds channel credentials sealed or hashed with it (%d): set it to the secret they were stored with", credentials)
	case opened == 0 && len(unopened) > 0:
		return nil, fmt.Errorf("KEYRACK_SECRET does not open any of the channel credentials sealed in the database (channels %s): it is not the secret they were sealed with — a typo, or a changed secret (it cannot be changed in place: see the README, \"Configuration\")",
			strings.Join(firstOf(unopened, 5), ", "))
	}
	return unopened, nil
}

// firstOf is at most n of list, with how many more there are.
func firstOf(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("and %d more", len(list)-n))
}

// Resealed is what Reseal did.
type Resealed struct {
	Values int // values sealed again with the new secret
	// Inbound are the channels ("PROPERTY/CHANNEL") whose inbound secret
	// was cleared: an HMAC under the old secret cannot be carried over.
	Inbound []string
	// Unopened are the channels with a value the old secret does not open
	// (sealed by a process with yet another secret), left as it is.
	Unopened []string
}

// Reseal moves the database from the deployment secret from to to, in one
// transaction: what is sealed (the credentials keyrack presents to
// channels and those they replaced, iCal feed URLs, kept API answers that
// show a secret) is opened with from and sealed with to; the secrets
// channels present to keyrack, kept as HMACs under from, are cleared, to be
// set again. keyrack must not run meanwhile: a process with from cannot
// open what is sealed with to.
func (s *Store) Reseal(ctx context.Context, from, to *Secrets, by Actor) (Resealed, error) {
	var r Resealed
	reseal := func(name string, sealed []byte) ([]byte, error) {
		if sealed == nil {
			return nil, nil
		}
		plain, err := from.Open(sealed)
		if err != nil {
			if !slices.Contains(r.Unopened, name) {
				r.Unopened = append(r.Unopened, name)
			}
			return sealed, nil
		}
		r.Values++
		return to.Seal(plain)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var property, id int64
		var prop, code string
		var out, prev []byte
		var inbound bool
		rows, _ := tx.Query(ctx, `SELECT c.property_id, c.id, p.code, c.code, c.outbound_secret_sealed, c.outbound_secret_prev_sealed,
				c.inbound_secret_hash IS NOT NULL
			FROM channels c JOIN properties p ON p.id = c.property_id
			WHERE c.outbound_secret_sealed IS NOT NULL OR c.outbound_secret_prev_sealed IS NOT NULL OR c.inbound_secret_hash IS NOT NULL
			ORDER BY p.code, c.code FOR UPDATE OF c`)
		type update struct {
			property, id int64
			out, prev    []byte
		}
		type channel struct {
			property int64
			code     string
		}
		var updates []update
		var cleared []channel
		_, err := pgx.ForEachRow(rows, []any{&property, &id, &prop, &code, &out, &prev, &inbound}, func() error {
			name := prop + "/" + code
			u := update{property: property, id: id}
			var err error
			if u.out, err = reseal(name, out); err != nil {
				return err
			}
			if u.prev, err = reseal(name, prev); err != nil {
				return err
			}
			updates = append(updates, u)
			if inbound {
				r.Inbound = append(r.Inbound, name)
				cleared = append(cleared, channel{property, code})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			if _, err := tx.Exec(ctx, `UPDATE channels SET outbound_secret_sealed = $3, outbound_secret_prev_sealed = $4, inbound_secret_hash = NULL
				WHERE property_id = $1 AND id = $2`, u.property, u.id, u.out, u.prev); err != nil {
				return err
			}
		}
		for _, c := range cleared {
			if err := audit(ctx, tx, c.property, by, "channel.credentials", "channel "+c.code, map[string]any{
				"inbound_secret_changed": true, "outbound_secret_changed": false, "keyrack_secret_changed": true}); err != nil {
				return err
			}
		}

		var url []byte
		rows, _ = tx.Query(ctx, `SELECT f.property_id, f.id, p.code, c.code, f.url_sealed FROM ical_feeds f
			JOIN channels c ON c.property_id = f.property_id AND c.id = f.channel_id JOIN properties p ON p.id = f.property_id
			FOR UPDATE OF f`)
		updates = updates[:0]
		_, err = pgx.ForEachRow(rows, []any{&property, &id, &prop, &code, &url}, func() error {
			again, err := reseal(prop+"/"+code, url)
			updates = append(updates, update{property: property, id: id, out: again})
			return err
		})
		if err != nil {
			return err
		}
		for _, u := range updates {
			if _, err := tx.Exec(ctx, `UPDATE ical_feeds SET url_sealed = $3 WHERE property_id = $1 AND id = $2`, u.property, u.id, u.out); err != nil {
				return err
			}
		}

		// Kept answers of API requests with an Idempotency-Key (a day at
		// most) that show a secret.
		var body []byte
		var key string
		rows, _ = tx.Query(ctx, `SELECT k.property_id, k.api_key_id, p.code, k.idem_key, k.response FROM idempotency_keys k
			JOIN properties p ON p.id = k.property_id WHERE k.sealed AND k.response IS NOT NULL FOR UPDATE OF k`)
		type kept struct {
			property, apiKey int64
			key              string
			body             []byte
		}
		var keptAnswers []kept
		_, err = pgx.ForEachRow(rows, []any{&property, &id, &prop, &key, &body}, func() error {
			again, err := reseal(prop+" API answer", body)
			keptAnswers = append(keptAnswers, kept{property, id, key, again})
			return err
		})
		if err != nil {
			return err
		}
		for _, k := range keptAnswers {
			if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET response = $4 WHERE property_id = $1 AND api_key_id = $2 AND idem_key = $3`,
				k.property, k.apiKey, k.key, k.body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Resealed{}, err
	}
	return r, nil
}
