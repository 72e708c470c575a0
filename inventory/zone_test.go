package inventory_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/inventory/inventorytest"
	"github.com/stretchr/testify/require"
)

// The pages take a property's nights from Go's zone data, the fan-out and
// the scheduler from PostgreSQL's: a zone name the two read differently
// (CET: summer time for Go, a fixed +01 for PostgreSQL) would have them
// disagree on the night for an hour a day half the year, and is refused
// with the name to use; zones both read alike are taken, places and fixed
// offsets alike.
func TestAZoneTheDatabaseReadsDifferentlyIsRefused(t *testing.T) {
	t.Parallel()
	st := inventorytest.New(t)
	ctx := context.Background()
	for _, tz := range []string{"CET", "EET", "MET", "WET"} {
		_, err := st.CreateProperty(ctx, inventory.Property{Code: "Z" + tz, Name: "Hotel", TimeZone: tz, Currency: "EUR"}, inventory.System)
		require.Error(t, err, tz)
		require.Equal(t, inventory.EINVALID, inventory.ErrorCode(err), "%s: %v", tz, err)
		require.ErrorContains(t, err, "Europe/Paris", tz)
	}
	ps, err := st.Properties(ctx)
	require.NoError(t, err)
	require.Empty(t, ps, "nothing is written")
	for i, tz := range []string{"Europe/Paris", "Pacific/Kiritimati", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC", "EST", "Etc/GMT+5"} {
		_, err := st.CreateProperty(ctx, inventory.Property{Code: "OK" + string(rune('A'+i)), Name: "Hotel", TimeZone: tz, Currency: "EUR"}, inventory.System)
		require.NoError(t, err, tz)
	}
}
