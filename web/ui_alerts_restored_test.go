package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// After keyrack's database was restored from a backup, the bookings the
// channels sent since are not in keyrack and their rooms are sold again:
// `keyrack restored` (sync.Fanout.Restored) raises an alert saying from
// when bookings may be missing and what staff do about it, on the alerts
// page (marked in the menu) and in the incidents API. It stays until staff
// resolve it.
func TestARestoreFromABackupIsAnAlertUntilStaffResolveIt(t *testing.T) {
	t.Parallel()
	a := newAlertsUI(t)
	a.seedHotel("P", 2)
	ctx := context.Background()
	_, err := a.st.ApplyRevision(ctx, inventory.Revision{Property: "P", Channel: "expedia", ExternalID: "E-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: inventory.MustDate("2027-10-01"), Departure: inventory.MustDate("2027-10-02"), Rooms: 1}}})
	require.NoError(t, err)
	// The backup's last record of the hotel: 10:15 in Lisbon (WET, UTC+0).
	_, err = a.st.DB().Exec(ctx, `UPDATE audit_log SET at = '2026-03-01 10:15:00+00'`)
	require.NoError(t, err)
	_, err = a.fanout.Restored(ctx, 1)
	require.NoError(t, err)
	a.login("anna")

	p := a.get("/admin/p/P/alerts")
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `keyrack's database was restored from a backup <span class="count">(1)</span>`)
	require.Contains(t, p.Body, "<strong>2026-03-01 10:15 WET</strong>", "from when bookings may be missing, in the hotel's time")
	require.Contains(t, p.Body, "Check each channel's extranet (and the PMS) for bookings, cancellations and changes made since that moment")
	require.Contains(t, p.Body, "it stays until you do")
	require.Contains(t, p.Body, `<a class="button secondary" href="/admin/p/P/bookings/new">Record a booking</a>`, "where staff enter the bookings they find")
	require.NotContains(t, p.Body, "All is well")
	require.NotContains(t, p.Body, "Other alerts", "a kind the page knows")
	require.Contains(t, a.get("/admin/p/P/grid").Body, menuAlerting)
	require.Contains(t, a.get("/admin/p/P/alerts?kind=database_restored").Body, "<strong>2026-03-01 10:15 WET</strong>", "the section alone")
	m := regexp.MustCompile(`action="(/admin/p/P/alerts/incidents/\d+/resolve)"[^>]*>.{0,200}Checked every channel: resolve`).FindStringSubmatch(p.Body)
	require.NotNil(t, m, p.Body)

	// The API lists it with the same wording and the moments in its details.
	_, key, err := a.st.CreateAPIKey(ctx, "P", "ops", inventory.System)
	require.NoError(t, err)
	r := a.get("/api/v1/properties/P/incidents", "Authorization", "Bearer "+key)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.Body), &list))
	require.Len(t, list, 1, r.Body)
	require.Equal(t, "database_restored", list[0]["kind"])
	require.Contains(t, list[0]["message"], "since 2026-03-01 10:15 WET")
	require.Contains(t, list[0]["message"], "Check each channel's extranet and the PMS")
	details := list[0]["details"].(map[string]any)
	require.Equal(t, "2026-03-01T10:15:00Z", details["missing_since"])
	require.NotEmpty(t, details["restored_at"])

	// Staff resolve it once the bookings made since are entered.
	p = a.post("/admin/p/P/alerts", m[1], nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = a.get(p.Header.Get("Location"))
	require.Contains(t, p.Body, "The alert of the restore from a backup is resolved.")
	require.Contains(t, p.Body, "All is well")
	require.Contains(t, p.Body, "No restore from a backup to check")
	require.NotContains(t, a.get("/admin/p/P/grid").Body, menuAlerting)
	all, err := a.st.Incidents(ctx, "P", false)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.NotNil(t, all[0].ResolvedBy)
	require.Contains(t, *all[0].ResolvedBy, "anna")
}
