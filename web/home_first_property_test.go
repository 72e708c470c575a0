package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The first admin, logged in to an empty keyrack, is told to create the
// property through the API; the page now also says where the API's key
// comes from (keyrack apikey create), which it did not: every API request
// needs one, and the admin pages make none.
func TestAnEmptyKeyrackSaysHowToMakeTheFirstProperty(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.login("anna")
	home := e.get("/admin/").Body
	require.Contains(t, home, "There is no property yet.")
	require.Contains(t, home, "<code>POST /api/v1/properties</code>")
	require.Contains(t, home, "<code>keyrack apikey create</code>")
}
