package inventory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

func TestAPIKeyAuthenticatesUntilRevoked(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	newHotelIn(t, st, "P", "Europe/Lisbon", []int{1}, inventory.FactorOne, 0)

	k, secret, err := st.CreateAPIKey(ctx, "P", "front desk", inventory.System)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, k.Prefix+"_"))
	require.Equal(t, "P", k.Property)
	require.False(t, k.AllProperties())

	got, err := st.AuthenticateAPIKey(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
	require.Equal(t, "P", got.Property)
	require.Equal(t, inventory.Actor{Kind: "api", Name: "front desk"}, got.Actor())

	// One character off is not the key.
	last := "A"
	if strings.HasSuffix(secret, "A") {
		last = "B"
	}
	wrong := secret[:len(secret)-1] + last
	_, err = st.AuthenticateAPIKey(ctx, wrong)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err))

	_, err = st.RevokeAPIKey(ctx, k.Prefix, inventory.System)
	require.NoError(t, err)
	_, err = st.AuthenticateAPIKey(ctx, secret)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err))

	all, _, err := st.CreateAPIKey(ctx, "", "", inventory.System)
	require.NoError(t, err)
	require.True(t, all.AllProperties())
	_, _, err = st.CreateAPIKey(ctx, "NOPE", "x", inventory.System)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	_, err = st.RevokeAPIKey(ctx, "kr_nothere0", inventory.System)
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

func TestIdempotencyKeyIsClaimedOnce(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	newHotelIn(t, st, "P", "Europe/Lisbon", []int{1}, inventory.FactorOne, 0)
	prop, err := st.Property(ctx, "P")
	require.NoError(t, err)
	k, _, err := st.CreateAPIKey(ctx, "P", "pms", inventory.System)
	require.NoError(t, err)
	req := inventory.IdempotentRequest{PropertyID: prop.ID, APIKeyID: k.ID, Key: "abc", Method: "POST", Path: "/x", Body: []byte(`{"a":1}`)}

	stored, err := st.ClaimIdempotencyKey(ctx, req)
	require.NoError(t, err)
	require.Nil(t, stored, "the first claim runs")
	_, err = st.ClaimIdempotencyKey(ctx, req)
	require.Equal(t, inventory.ECONFLICT, inventory.ErrorCode(err), "still running")

	require.NoError(t, st.CompleteIdempotencyKey(ctx, req, inventory.StoredResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}))
	stored, err = st.ClaimIdempotencyKey(ctx, req)
	require.NoError(t, err)
	require.Equal(t, &inventory.StoredResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}, stored)

	other := req
	other.Body = []byte(`{"a":2}`)
	_, err = st.ClaimIdempotencyKey(ctx, other)
	require.Equal(t, inventory.EMISMATCH, inventory.ErrorCode(err))
	other = req
	other.Path = "/y"
	_, err = st.ClaimIdempotencyKey(ctx, other)
	require.Equal(t, inventory.EMISMATCH, inventory.ErrorCode(err))

	// A released claim (the request failed on our side) can run again.
	second := req
	second.Key = "def"
	stored, err = st.ClaimIdempotencyKey(ctx, second)
	require.NoError(t, err)
	require.Nil(t, stored)
	require.NoError(t, st.ReleaseIdempotencyKey(ctx, second))
	stored, err = st.ClaimIdempotencyKey(ctx, second)
	require.NoError(t, err)
	require.Nil(t, stored)

	// A claim whose request died long ago is taken over.
	_, err = st.DB().Exec(ctx, `UPDATE idempotency_keys SET created_at = now() - interval '1 hour' WHERE idem_key = 'def'`)
	require.NoError(t, err)
	stored, err = st.ClaimIdempotencyKey(ctx, second)
	require.NoError(t, err)
	require.Nil(t, stored)
}
