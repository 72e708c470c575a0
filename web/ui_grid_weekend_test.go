package web_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The grid shades a hotel's weekend — the nights of Friday and Saturday,
// whose guests leave on Saturday and Sunday — and its legend says so: it
// shaded Saturday and Sunday, the second a working night before Monday.
func TestTheGridShadesTheNightsOfFridayAndSaturdayAsTheWeekend(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 3)
	e.login("anna")
	// 2030-03-01 is a Friday.
	p := e.get("/admin/p/P/grid?from=2030-03-01&days=30")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	heads := regexp.MustCompile(`<th scope="col"( class="we"[^>]*)?><small>[^<]*</small>(\w{3}) (\d+)<`).FindAllStringSubmatch(p.Body, -1)
	require.Len(t, heads, 30, p.Body)
	for _, h := range heads {
		weekend := h[2] == "Fri" || h[2] == "Sat"
		require.Equal(t, weekend, h[1] != "", "%s %s", h[2], h[3])
	}
	cells := regexp.MustCompile(`(?s)<th scope="row"[^>]*>.*?</tr>`).FindString(p.Body)
	require.NotEmpty(t, cells)
	tds := regexp.MustCompile(`<td(?: class="([^"]*)")?`).FindAllStringSubmatch(cells, -1)
	require.Len(t, tds, 30)
	for i, td := range tds {
		weekend := i%7 == 0 || i%7 == 1 // Friday, Saturday
		require.Equal(t, weekend, regexp.MustCompile(`\bwe\b`).MatchString(td[1]), "night %d: %q", i, td[1])
	}
	require.Regexp(t, `<li><span class="sw"[^>]*></span>weekend: the nights of Friday and Saturday</li>`, p.Body)
}
