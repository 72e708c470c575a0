package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A guest's name is shown in its own direction: a right-to-left name, or
// one ending in a stray right-to-left override (U+202E, which a guest can
// type or paste into an OTA's form), must not reverse what follows it on
// the booking's page — the guest's e-mail address and phone number, which
// staff read to call the guest.
func TestAGuestsNameDoesNotTurnTheirPhoneNumberAround(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 5)
	a := inventory.MustDate("2027-02-01")
	name := "محمد عبد الله\u202E"
	out, err := e.st.ApplyRevision(context.Background(), inventory.Revision{Property: "P", Channel: "pms", ExternalID: "RTL-1", Kind: inventory.New,
		Stays: []inventory.RoomStay{{RoomType: "DBL-STD", Arrival: a, Departure: a.AddDays(2)}},
		Guest: inventory.Guest{Name: name, Email: "m@example.com", Phone: "+351 912 345 678"}})
	require.NoError(t, err)
	e.login("victor")

	// The search finds the name as typed in Arabic.
	list := e.get("/admin/p/P/bookings?guest=" + url.QueryEscape("عبد"))
	require.Equal(t, http.StatusOK, list.Status)
	require.Contains(t, list.Body, ">RTL-1<")

	p := e.get(fmt.Sprintf("/admin/p/P/bookings/%d", out.ReservationID))
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, name, "stored and shown as sent")
	isolated := regexp.MustCompile(`<bdi[^>]*>` + regexp.QuoteMeta(name) + `</bdi>|dir="auto"[^>]*>` + regexp.QuoteMeta(name) + `<`)
	require.Regexp(t, isolated, p.Body, "the name is isolated from the e-mail and phone after it:\n%s",
		p.Body[strings.Index(p.Body, "<dt>Guest</dt>"):][:200])
	require.Regexp(t, isolated, list.Body, "and in the list of bookings")
}
