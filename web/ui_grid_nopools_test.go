package web_test

import (
	"context"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A hotel's first look at its new property's grid, before any pool: the
// page said "This property has no pools yet." and nothing of how to make
// one (pools and room types are made through the API, as the channels page
// says of channels), above a "No enabled channel sells these pools" about
// pools that do not exist and a form to change the nights of none. It says
// where pools and room types are made, and shows neither of the others.
func TestAGridWithoutPoolsSaysHowToMakeThem(t *testing.T) {
	t.Parallel()
	e := newChannelsUI(t)
	_, err := e.st.CreateProperty(context.Background(), inventory.Property{Code: "NEW", Name: "New Inn", TimeZone: "Europe/Lisbon", Currency: "EUR"}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	grid := e.get("/admin/p/NEW/grid").Body
	require.Contains(t, grid, "This property has no pools yet.")
	require.Contains(t, grid, "POST /api/v1/properties/NEW/pools")
	require.Contains(t, grid, "POST /api/v1/properties/NEW/room-types")
	require.NotContains(t, grid, "No enabled channel sells these pools")
	require.NotContains(t, grid, `id="edit-title"`, "no form to change the nights of no pool")
}
