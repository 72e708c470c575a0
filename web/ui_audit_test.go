package web_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A booking's audit trail reads in words — what was done, who did it, each
// detail labelled, moments in the hotel's time zone, nested values
// flattened — with the entry as recorded kept under "As recorded": it
// showed each detail's key and Go's print of its value ("external_id
// EXP-1", "parked false", "stay map[arrival:… rooms:[DBL TWN]]", a moment
// in UTC as stored).
func TestABookingsAuditTrailReadsInWords(t *testing.T) {
	t.Parallel()
	e := newBookingsEnv(t)
	id := e.ids["EXP-1"]
	require.NoError(t, e.st.AuditAction(context.Background(), "P", inventory.Staff("rita"), "reservation.note_added",
		inventory.ReservationAuditSubject(id), map[string]any{
			"called_at": "2026-07-01T08:30:00Z",
			"stay":      map[string]any{"arrival": "2026-12-01", "rooms": []string{"DBL", "TWN"}},
			"refunded":  true,
		}))
	e.login("anna")
	body := e.get("/admin/p/P/bookings/" + strconv.FormatInt(id, 10)).Body
	trail := section(t, body, "audit")

	row := regexp.MustCompile(`(?s)<tr>\s*<td class="when">[^<]*</td>\s*<td>channel expedia</td>\s*<td>expedia</td>\s*<th scope="row">New booking</th>.*?</tr>`).FindString(trail)
	require.NotEmpty(t, row, trail)
	require.Contains(t, row, "<dt>Reservation id at the channel</dt><dd>EXP-1</dd>")
	require.Contains(t, row, "<dt>Parked (a room not mapped)</dt><dd>no</dd>")
	require.Contains(t, row, "<dt>Revision</dt><dd>1</dd>")
	require.Contains(t, row, "<dt>Status</dt><dd>confirmed</dd>")
	require.Contains(t, row, "<summary>As recorded</summary>")
	require.Contains(t, row, "reservation.new by channel:expedia")
	require.Contains(t, row, "&#34;external_id&#34;: &#34;EXP-1&#34;", "the entry as recorded")
	require.Contains(t, trail, `<th scope="row">Changed</th>`)

	row = regexp.MustCompile(`(?s)<tr>\s*<td class="when">[^<]*</td>\s*<td>rita</td>.*?</tr>`).FindString(trail)
	require.NotEmpty(t, row, trail)
	require.Contains(t, row, `<th scope="row">Reservation note added</th>`)
	require.Contains(t, row, "<dt>Called at</dt><dd>2026-07-01 09:30 WEST</dd>", "a moment in Lisbon's summer time")
	require.Contains(t, row, "<dt>Stay — arrival</dt><dd>2026-12-01</dd>")
	require.Contains(t, row, "<dt>Stay — rooms</dt><dd>DBL, TWN</dd>")
	require.Contains(t, row, "<dt>Refunded</dt><dd>yes</dd>")
	require.NotContains(t, trail, "map[")
	require.NotContains(t, trail, `<span class="muted">external_id</span>`)
}
