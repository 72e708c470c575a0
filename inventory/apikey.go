package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// APIKey is a bearer key of the management and PMS API. A key is scoped to
// one property, or to every property when Property is "".
type APIKey struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`             // the key's first characters, to tell keys apart
	Property   string     `json:"property,omitempty"` // "" = every property
	PropertyID int64      `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// AllProperties reports whether the key acts on every property.
func (k APIKey) AllProperties() bool { return k.PropertyID == 0 }

// Actor is who the key's changes are audited as.
func (k APIKey) Actor() Actor { return Actor{Kind: "api", Name: k.Name} }

// A key reads kr_<8 prefix characters>_<43 characters of base64url>: 256
// random bits after the prefix.
var apiKeyRE = regexp.MustCompile(`^(kr_[a-z0-9]{8})_[A-Za-z0-9_-]{43}$`)

const prefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func newAPIKeySecret() (prefix, key string, err error) {
	var p [8]byte
	if _, err := rand.Read(p[:]); err != nil {
		return "", "", err
	}
	for i := range p {
		p[i] = prefixAlphabet[int(p[i])%len(prefixAlphabet)]
	}
	var s [32]byte
	if _, err := rand.Read(s[:]); err != nil {
		return "", "", err
	}
	prefix = "kr_" + string(p[:])
	return prefix, prefix + "_" + base64.RawURLEncoding.EncodeToString(s[:]), nil
}

func hashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateAPIKey makes a key for property ("" for every property) and returns
// it with the key itself, which is not stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, property, name string, by Actor) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "api key"
	}
	if len(name) > 100 {
		return APIKey{}, "", Errorf(EINVALID, "an API key name is at most 100 characters")
	}
	k := APIKey{Name: name, Property: property, CreatedBy: by.String()}
	var secret string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var propID *int64
		if property != "" {
			prop, err := propertyByCode(ctx, tx, property)
			if err != nil {
				return err
			}
			propID, k.PropertyID = &prop.ID, prop.ID
		}
		for range 3 { // a prefix collision is rare; try again
			prefix, key, err := newAPIKeySecret()
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `SAVEPOINT k`)
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `INSERT INTO api_keys (property_id, name, prefix, key_hash, created_by)
				VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`, propID, name, prefix, hashAPIKey(key), k.CreatedBy).
				Scan(&k.ID, &k.CreatedAt)
			if isUniqueViolation(err) {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT k`); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			k.Prefix, secret = prefix, key
			if propID != nil {
				return audit(ctx, tx, *propID, by, "api_key.create", "api key "+prefix, map[string]any{"name": name})
			}
			return nil
		}
		return errors.New("api key: could not draw a unique prefix")
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

const apiKeyColumns = `k.id, k.name, k.prefix, coalesce(p.code, ''), coalesce(k.property_id, 0), k.created_at, k.created_by, k.revoked_at, k.last_used_at`

func scanAPIKey(r pgx.Row) (APIKey, error) {
	var k APIKey
	err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.Property, &k.PropertyID, &k.CreatedAt, &k.CreatedBy, &k.RevokedAt, &k.LastUsedAt)
	return k, err
}

// errBadKey is the one answer for a malformed, unknown or revoked key, so a
// caller learns nothing about which.
var errBadKey = Errorf(EUNAUTHORIZED, "the API key is not valid (unknown or revoked)")

// EUNAUTHORIZED: the caller did not prove who it is.
const EUNAUTHORIZED = "unauthorized"

// AuthenticateAPIKey finds the live key matching key and notes its use.
func (s *Store) AuthenticateAPIKey(ctx context.Context, key string) (APIKey, error) {
	if !apiKeyRE.MatchString(key) {
		return APIKey{}, errBadKey
	}
	// The lookup is by hash, so timing says nothing about the key.
	k, err := scanAPIKey(s.db.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k LEFT JOIN properties p ON p.id = k.property_id
		WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, hashAPIKey(key)))
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, errBadKey
	}
	if err != nil {
		return APIKey{}, err
	}
	// Every request of a busy PMS uses the same key: note its use at most
	// once a minute rather than making its row a point of contention.
	if k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > time.Minute {
		if _, err := s.db.Exec(ctx, `UPDATE api_keys SET last_used_at = now() WHERE id = $1
			AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, k.ID); err != nil {
			return APIKey{}, err
		}
	}
	return k, nil
}

// APIKeys lists the keys of property, or every key when property is "".
func (s *Store) APIKeys(ctx context.Context, property string) ([]APIKey, error) {
	rows, _ := s.db.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k LEFT JOIN properties p ON p.id = k.property_id
		WHERE $1 = '' OR p.code = $1 ORDER BY k.id`, property)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanAPIKey(r) })
}

// APIKey finds a key by its id or its prefix.
func (s *Store) APIKey(ctx context.Context, idOrPrefix string) (APIKey, error) {
	id, _ := strconv.ParseInt(idOrPrefix, 10, 64)
	k, err := scanAPIKey(s.db.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k LEFT JOIN properties p ON p.id = k.property_id
		WHERE k.id = $1 OR k.prefix = $2`, id, idOrPrefix))
	return k, notFound(err, "no API key %s", idOrPrefix)
}

// RevokeAPIKey revokes a key by its id or prefix; it stops working at once.
// Revoking a revoked key changes nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, idOrPrefix string, by Actor) (APIKey, error) {
	k, err := s.APIKey(ctx, idOrPrefix)
	if err != nil {
		return k, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING revoked_at`, k.ID).
			Scan(&k.RevokedAt); err != nil {
			return err
		}
		if k.PropertyID != 0 {
			return audit(ctx, tx, k.PropertyID, by, "api_key.revoke", "api key "+k.Prefix, map[string]any{"name": k.Name})
		}
		return nil
	})
	return k, err
}
