package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

func TestAPIKeyCreatePrintsTheKeyOnceAndRevokeStopsIt(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": schemaURL(t)}
	code, _, stderr := keyrack(t, env, "migrate")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = keyrack(t, env, "seed", "demo")
	require.Equal(t, 0, code, stderr)

	code, stdout, stderr := keyrack(t, env, "apikey", "create", "--property", "DEMO", "--name", "front desk")
	require.Equal(t, 0, code, stderr)
	key := strings.TrimSpace(stdout)
	require.Regexp(t, regexp.MustCompile(`^kr_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$`), key)
	require.Contains(t, stderr, "property DEMO")
	require.Contains(t, stderr, "only this once")

	st, err := inventory.Open(context.Background(), env["DATABASE_URL"])
	require.NoError(t, err)
	t.Cleanup(st.Close)
	k, err := st.AuthenticateAPIKey(context.Background(), key)
	require.NoError(t, err)
	require.Equal(t, "DEMO", k.Property)
	require.Equal(t, "front desk", k.Name)

	code, stdout, stderr = keyrack(t, env, "apikey", "list")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, key[:11])
	require.NotContains(t, stdout, key)

	code, stdout, stderr = keyrack(t, env, "apikey", "revoke", key[:11])
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "revoked API key")
	_, err = st.AuthenticateAPIKey(context.Background(), key)
	require.Equal(t, inventory.EUNAUTHORIZED, inventory.ErrorCode(err))

	code, stdout, stderr = keyrack(t, env, "apikey", "create")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "every property")
	k, err = st.AuthenticateAPIKey(context.Background(), strings.TrimSpace(stdout))
	require.NoError(t, err)
	require.True(t, k.AllProperties())
}

func TestAPIKeyCommandMistakesAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"apikey"}, {"apikey", "frob"}, {"apikey", "revoke"}, {"apikey", "create", "extra"}} {
		code, _, stderr := keyrack(t, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/x"}, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
	}
	code, _, stderr := keyrack(t, map[string]string{"DATABASE_URL": schemaURL(t)}, "apikey", "create", "--property", "NOPE")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "migrate", "an unmigrated database says so")
}
