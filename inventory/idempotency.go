package inventory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Idempotency-Key handling, like Stripe's: the first request with a key runs
// and its response is kept; the same key with the same request gets that
// response again; the same key with another request is refused.

// EMISMATCH: an Idempotency-Key was used again for a different request.
const EMISMATCH = "idempotency_mismatch"

// IdempotentRequest names a request carrying an Idempotency-Key.
type IdempotentRequest struct {
	PropertyID int64
	APIKeyID   int64
	Key        string
	Method     string
	Path       string
	Body       []byte
}

// StoredResponse is a response kept for replay.
type StoredResponse struct {
	Status      int
	ContentType string
	// Location is the response's Location header, if any.
	Location string
	Body     []byte
	// Sealed: Body is sealed (Secrets.Seal), as a response that shows a
	// secret is kept.
	Sealed bool
}

// StaleIdempotencyClaim is how long a claimed key may stay without a
// response (its request crashed) before another request may take it over.
const staleClaim = "2 minutes"

// ClaimIdempotencyKey claims the key for this request before it runs. It
// returns nil when the caller should run the request and then call
// CompleteIdempotencyKey (or ReleaseIdempotencyKey); the stored response
// when the same request has completed before; an EMISMATCH error when the
// key was used for a different request; an ECONFLICT error while the first
// request with the key is still running. The claim is one INSERT, so of two
// concurrent requests with one key exactly one runs.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, r IdempotentRequest) (*StoredResponse, error) {
	if r.Key == "" || len(r.Key) > 255 {
		return nil, Errorf(EINVALID, "Idempotency-Key must be 1–255 characters")
	}
	h := sha256.Sum256(r.Body)
	tag, err := s.db.Exec(ctx, `INSERT INTO idempotency_keys (property_id, api_key_id, idem_key, method, path, body_hash)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, r.PropertyID, r.APIKeyID, r.Key, r.Method, r.Path, h[:])
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	var method, path string
	var bodyHash []byte
	var status *int
	var ctype, location *string
	var body []byte
	var sealed bool
	err = s.db.QueryRow(ctx, `SELECT method, path, body_hash, status, content_type, location, response, sealed FROM idempotency_keys
		WHERE property_id = $1 AND api_key_id = $2 AND idem_key = $3`, r.PropertyID, r.APIKeyID, r.Key).
		Scan(&method, &path, &bodyHash, &status, &ctype, &location, &body, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released between our insert and our read: try once more.
		return s.ClaimIdempotencyKey(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	if method != r.Method || path != r.Path || !bytes.Equal(bodyHash, h[:]) {
		return nil, Errorf(EMISMATCH, "Idempotency-Key %q was already used for a different request (%s %s); use a new key for a new request", r.Key, method, path)
	}
	if status == nil {
		// Take over a claim whose request died without answering.
		tag, err := s.db.Exec(ctx, `UPDATE idempotency_keys SET created_at = now()
			WHERE property_id = $1 AND api_key_id = $2 AND idem_key = $3 AND status IS NULL
				AND created_at < now() - interval '`+staleClaim+`'`, r.PropertyID, r.APIKeyID, r.Key)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}
		return nil, Errorf(ECONFLICT, "a request with Idempotency-Key %q is still being processed; retry later", r.Key)
	}
	resp := &StoredResponse{Status: *status, Body: body, Sealed: sealed}
	if ctype != nil {
		resp.ContentType = *ctype
	}
	if location != nil {
		resp.Location = *location
	}
	return resp, nil
}

// CompleteIdempotencyKey keeps the response of a claimed request for replay.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, r IdempotentRequest, resp StoredResponse) error {
	_, err := s.db.Exec(ctx, `UPDATE idempotency_keys SET status = $4, content_type = $5, response = $6, sealed = $7, location = nullif($8, ''), completed_at = now()
		WHERE property_id = $1 AND api_key_id = $2 AND idem_key = $3 AND status IS NULL`,
		r.PropertyID, r.APIKeyID, r.Key, resp.Status, resp.ContentType, resp.Body, resp.Sealed, resp.Location)
	return err
}

// ReleaseIdempotencyKey forgets a claim whose request failed in a way worth
// retrying (a server error), so the same key can run again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, r IdempotentRequest) error {
	_, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE property_id = $1 AND api_key_id = $2 AND idem_key = $3 AND status IS NULL`,
		r.PropertyID, r.APIKeyID, r.Key)
	return err
}
