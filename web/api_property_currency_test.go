package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A property's currency is fixed once it is made (its channels' prices are
// in it), so a typo there cannot be corrected: "EUT" for EUR, or a code no
// country uses, was taken as long as it was three capital letters. Such a
// property is refused, with the field named; real codes are taken, those of
// three-decimal currencies too.
func TestAPropertyIsNotMadeInACurrencyThatDoesNotExist(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	for _, bad := range []string{"EUT", "XYZ", "ABC"} {
		r := e.do("POST", "/api/v1/properties", e.admin, map[string]any{"code": "P-" + bad, "name": "Hotel", "time_zone": "Europe/Lisbon", "currency": bad})
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", bad, r.Body)
		require.Contains(t, string(r.Body), `"field":"currency"`)
	}
	for _, good := range []string{"EUR", "JPY", "KWD", "CHF"} {
		e.must(http.StatusCreated, "POST", "/api/v1/properties", map[string]any{"code": "P-" + good, "name": "Hotel", "time_zone": "Europe/Lisbon", "currency": good})
	}
}
