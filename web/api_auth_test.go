package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestAPIRefusesRequestsWithoutAValidKey(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)

	p := problemOf(t, e.do("GET", "/api/v1/properties", "", nil), http.StatusUnauthorized)
	require.Contains(t, p["detail"], "Bearer")
	problemOf(t, e.do("GET", "/api/v1/properties/P/pools", "kr_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil), http.StatusUnauthorized)
	problemOf(t, e.do("GET", "/api/v1/properties", "not-a-key", nil), http.StatusUnauthorized)

	key := e.propertyKey("P")
	require.Equal(t, http.StatusOK, e.do("GET", "/api/v1/properties/P/pools", key, nil).Status)
	revoked := e.must(http.StatusOK, "DELETE", "/api/v1/api-keys/"+key[:11], nil).JSON(t)
	require.NotEmpty(t, revoked["revoked_at"])
	problemOf(t, e.do("GET", "/api/v1/properties/P/pools", key, nil), http.StatusUnauthorized)
}

func TestAPropertyKeyActsOnlyOnItsOwnProperty(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	e.hotel("Q", 2)
	key := e.propertyKey("P")

	props := e.do("GET", "/api/v1/properties", key, nil)
	require.Equal(t, http.StatusOK, props.Status)
	list := props.List(t)
	require.Len(t, list, 1)
	require.Equal(t, "P", list[0]["code"])
	require.Len(t, e.must(http.StatusOK, "GET", "/api/v1/properties", nil).List(t), 2)

	for _, path := range []string{"/api/v1/properties/Q", "/api/v1/properties/Q/pools", "/api/v1/properties/Q/availability?from=2027-01-01&to=2027-01-02"} {
		problemOf(t, e.do("GET", path, key, nil), http.StatusForbidden)
	}
	problemOf(t, e.do("POST", "/api/v1/properties/Q/reservations", key, booking("X1", "2027-01-01", "2027-01-02", 1)), http.StatusForbidden)
	// Forbidden even for a property that does not exist: the key says nothing about others.
	problemOf(t, e.do("GET", "/api/v1/properties/NOPE/pools", key, nil), http.StatusForbidden)
	// Only an all-properties key creates properties or keys for other properties.
	problemOf(t, e.do("POST", "/api/v1/properties", key, map[string]any{"code": "R", "name": "R", "time_zone": "UTC", "currency": "EUR"}), http.StatusForbidden)
	problemOf(t, e.do("POST", "/api/v1/api-keys", key, map[string]any{"name": "x", "property": "Q"}), http.StatusForbidden)
	problemOf(t, e.do("POST", "/api/v1/api-keys", key, map[string]any{"name": "x"}), http.StatusForbidden)
	// It may make another key for its own property, and sees only its property's keys.
	require.Equal(t, http.StatusCreated, e.do("POST", "/api/v1/api-keys", key, map[string]any{"name": "second", "property": "P"}).Status)
	keys := e.do("GET", "/api/v1/api-keys", key, nil).List(t)
	require.Len(t, keys, 2)
	for _, k := range keys {
		require.Equal(t, "P", k["property"])
		require.NotContains(t, k, "key")
	}
	// It cannot revoke the admin key.
	admin, err := e.st.APIKeys(context.Background(), "")
	require.NoError(t, err)
	problemOf(t, e.do("DELETE", "/api/v1/api-keys/"+admin[0].Prefix, key, nil), http.StatusNotFound)
	require.Equal(t, http.StatusOK, e.must(http.StatusOK, "GET", "/api/v1/properties", nil).Status)
}

func TestAPIKeysAreStoredHashedAndAuditedByName(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 2)
	key := e.propertyKey("P")
	var n int
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT count(*) FROM api_keys WHERE position($1::bytea in key_hash) > 0 OR prefix = $2`,
		[]byte(key), key).Scan(&n))
	require.Zero(t, n, "the key itself is not stored")

	e.do("PUT", "/api/v1/properties/P/pools/DBL/nights?from=2027-03-01&to=2027-03-03", key, map[string]any{"closed": true})
	entries, err := e.st.Audit(context.Background(), "P", "pool DBL 2027-03-01..2027-03-03", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "api:pms of P", entries[0].Actor)
	require.Equal(t, "nights.close", entries[0].Action)

	k, err := e.st.APIKey(context.Background(), key[:11])
	require.NoError(t, err)
	require.NotNil(t, k.LastUsedAt)
	_ = inventory.System
}
