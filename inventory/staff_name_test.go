package inventory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A login whose user name PostgreSQL cannot hold (a NUL, bytes that are
// not UTF-8) is a wrong login like any other — not a failed query — and it
// counts towards the user name's and the client's limits.
func TestALoginWithAnUnstorableNameIsAWrongLoginAndCounted(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	_, err := st.CreateStaffUser(ctx, "anna", inventory.RoleAdmin, "anna's long password", inventory.System)
	require.NoError(t, err)
	for _, name := range []string{"an\x00na", "anna\xff"} {
		_, _, err := st.StaffLoginFrom(ctx, name, "anna's long password", "198.51.100.7")
		require.True(t, errors.Is(err, inventory.ErrBadLogin), "%q: %v", name, err)
	}
	var failures int
	require.NoError(t, st.DB().QueryRow(ctx, `SELECT count(*) FROM staff_login_failures WHERE remote = '198.51.100.7'`).Scan(&failures))
	require.Equal(t, 2, failures)
}
