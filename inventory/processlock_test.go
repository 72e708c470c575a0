package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A running keyrack marks itself (HoldRunning) so that a secret rotation
// (LockOutProcesses) is refused beside it, and the mark outlives the loss
// of its session: after PostgreSQL ends it (a restart, a cut network, an
// administrator's pg_terminate_backend) the process takes the lock again,
// so a rotation started later is still refused. Without that, one restart
// of PostgreSQL let a rotation run beside every process.
func TestARunningProcessKeepsRotationsOutAcrossALostSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := inventorytest.New(t)
	st.SetRunningCheck(50 * time.Millisecond)

	running, err := st.HoldRunning(ctx)
	require.NoError(t, err)
	defer running.Release()
	_, err = st.LockOutProcesses(ctx)
	var refused inventory.ProcessesRunningError
	require.ErrorAs(t, err, &refused)
	require.Len(t, refused.Holders, 1)
	require.Contains(t, refused.Holders[0], "keyrack, from")

	// PostgreSQL ends the session holding the mark.
	var ended int
	require.NoError(t, st.DB().QueryRow(ctx, `
		SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.mode = 'ShareLock' AND l.objsubid = 1
			AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(current_schema() || '/keyrack/processes', 0)`).Scan(&ended))
	require.Equal(t, 1, ended)
	require.Eventually(t, func() bool {
		release, err := st.LockOutProcesses(ctx)
		if err == nil {
			release()
			return false
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "the process took its mark again")
	_, err = st.LockOutProcesses(ctx)
	require.ErrorAs(t, err, &refused)

	// Released at the process's end: the rotation may run, and while it
	// does, no process starts.
	running.Release()
	release, err := st.LockOutProcesses(ctx)
	require.NoError(t, err)
	_, err = st.HoldRunning(ctx)
	require.ErrorIs(t, err, inventory.ErrRotating)
	release()
	again, err := st.HoldRunning(ctx)
	require.NoError(t, err)
	again.Release()
}
