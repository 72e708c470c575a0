package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A PMS books through the API in keyrack's own room type codes and is
// sent every reservation; mappings do nothing for it. Its channel page
// offered the mapping form all the same and said "No mapping yet: nothing
// is sent to this channel and its bookings are parked", which is false of
// a PMS whose webhooks it shows being delivered. The page says what is so
// and offers no mapping.
func TestAPMSChannelPageDoesNotAskForMappings(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2) // pms and expedia
	e.login("anna")
	pms := e.get("/admin/p/P/channels/pms").Body
	require.NotContains(t, pms, "nothing is sent to this channel and its bookings are parked")
	require.NotContains(t, pms, "Add a mapping")
	require.NotContains(t, pms, `id="unmapped-title"`)
	require.Contains(t, pms, "A PMS books in keyrack's own room type codes")
	require.Contains(t, e.get("/admin/p/P/channels/expedia").Body, "Add a mapping", "an OTA keeps its mappings")
}
