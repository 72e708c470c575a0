package main

import (
	"testing"

	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// A setting that passes the check at start is one serve can run with: the
// README promises that a bad setting stops keyrack before it connects
// anywhere, with exit code 2 naming it. "off " (an env file's trailing
// blank) passed the check, and then the fan-out refused it after keyrack
// had connected, exit code 1; "Off" the fan-out takes, and was refused.
func TestAResyncTimeThatPassesTheCheckIsOneServeRunsWith(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"off ", " off", "Off", " 04:30 "} {
		cfg, err := configFromEnv(func(k string) string {
			if k == "KEYRACK_RESYNC_AT" {
				return v
			}
			return ""
		})
		require.NoError(t, err, "KEYRACK_RESYNC_AT=%q", v)

		m := newTestMain(t)
		m.Store = inventorytest.New(t)
		m.Config.ResyncAt = cfg.ResyncAt
		m.Config.Roles = "worker,scheduler"
		runMain(t, m) // fails if Run returns before every role started
	}
}
