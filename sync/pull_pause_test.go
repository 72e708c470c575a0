package sync_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A channel that failed before staff paused it (disabled, or its pull URL
// cleared) is judged afresh once it is polled again: the polls before the
// pause are not counted, so it is not stale the moment the first poll
// after it is asked for, or fails once, but only if its polls get nothing
// for KEYRACK_PULL_STALE_AFTER from then on.
func TestAChannelPolledAgainAfterAPauseIsNotStaleAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, pause := range []string{"disabled", "pull URL cleared"} {
		t.Run(pause, func(t *testing.T) {
			t.Parallel()
			h := newPullHotel(t)
			h.oc.FailFetches(true)
			eventually(t, convergeTimeout, "the error recorded", func() bool { return h.pullState().Error != nil })
			// Failing for 11 minutes (the default is 10): stale.
			_, err := h.st.DB().Exec(ctx, `UPDATE sync_channels SET pull_failing_since = pull_failing_since - interval '11 minutes'
				WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
			require.NoError(t, err)
			h.pollNow()
			require.NoError(t, h.fan.RunDue(ctx))
			require.Equal(t, 1, h.openIncidents("stale_pull"))

			off, on := inventory.ChannelPatch{Enabled: new(false)}, inventory.ChannelPatch{Enabled: new(true)}
			if pause == "pull URL cleared" {
				off, on = inventory.ChannelPatch{PullURL: new("")}, inventory.ChannelPatch{PullURL: new(h.oc.PullURL())}
			}
			_, err = h.st.UpdateChannel(ctx, h.code, "BDC", off, inventory.System)
			require.NoError(t, err)
			require.NoError(t, h.fan.RunDue(ctx))
			require.Zero(t, h.openIncidents("stale_pull"), "the pause resolves it")

			// Polled again, the channel still failing: for seconds only.
			_, err = h.st.UpdateChannel(ctx, h.code, "BDC", on, inventory.System)
			require.NoError(t, err)
			h.pollNow()
			eventually(t, convergeTimeout, "the failed poll recorded", func() bool {
				var failing bool
				require.NoError(t, h.st.DB().QueryRow(ctx, `SELECT pull_failing_since IS NOT NULL FROM sync_channels
					WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID).Scan(&failing))
				return failing
			})
			require.NoError(t, h.fan.RunDue(ctx))
			require.Zero(t, h.openIncidents("stale_pull"), "polled again seconds ago: not stale yet")

			// Failing for 11 minutes since: stale again.
			_, err = h.st.DB().Exec(ctx, `UPDATE sync_channels SET pull_failing_since = pull_failing_since - interval '11 minutes'
				WHERE property_id = $1 AND channel_id = $2`, h.id, h.chanID)
			require.NoError(t, err)
			h.pollNow()
			require.NoError(t, h.fan.RunDue(ctx))
			require.Equal(t, 1, h.openIncidents("stale_pull"))
		})
	}
}
