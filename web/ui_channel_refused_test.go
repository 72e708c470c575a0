package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A mapping or a setting the store refuses is answered with the channel's
// page — the reason at its top, the form holding what was typed — rather
// than a page titled "Not Found" or "Bad Request" with the store's words
// and one link, to the grid: staff who typed a room type wrong in a
// mapping lost the channel, the codes they had typed and the way back.
func TestARefusedMappingOrSettingIsShownOnTheChannelPageWithWhatWasTyped(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "DBL-SUP", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	value := func(body, id string) string {
		t.Helper()
		m := regexp.MustCompile(`<input id="` + id + `"[^>]*\bvalue="([^"]*)"`).FindStringSubmatch(body)
		require.NotNil(t, m, "no input %s with a value in:\n%s", id, body)
		return m[1]
	}

	// A room type typed wrong: still 404 (it does not exist), but on the channel's page.
	p := e.post(from, from+"/mappings", url.Values{"room": {"SUITE-9"}, "rate": {"FLEX"}, "room_type": {"DBL-SUPP"}, "rate_plan": {""}})
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Body, "<h1>Channel expedia")
	require.NotContains(t, p.Body, "Not Found")
	why := refusal(t, p)
	require.Contains(t, why, "Room SUITE-9 rate FLEX of expedia was not mapped: room type &#34;DBL-SUPP&#34; does not exist")
	require.Contains(t, why, `href="#add-mapping"`, "the refusal leads to the form")
	require.Equal(t, "SUITE-9", value(p.Body, "new-room"))
	require.Equal(t, "FLEX", value(p.Body, "new-rate"))
	require.Contains(t, section(t, p.Body, "mappings-title"), `id="add-mapping"`)

	// A rate plan the room type does not have: the room type chosen stays chosen.
	p = e.post(from, from+"/mappings", url.Values{"room": {"SUITE-9"}, "rate": {""}, "room_type": {"DBL-SUP"}, "rate_plan": {"NOPE"}})
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, refusal(t, p), "Room SUITE-9 of expedia was not mapped: rate plan &#34;NOPE&#34; does not exist for room type DBL-SUP.")
	require.Regexp(t, `<option value="DBL-SUP" selected>`, p.Body)
	require.Equal(t, "SUITE-9", value(p.Body, "new-room"))

	// No room type chosen.
	p = e.post(from, from+"/mappings", url.Values{"room": {"SUITE-9"}, "room_type": {""}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, refusal(t, p), "Choose the room type the channel&#39;s room SUITE-9 is.")
	require.Equal(t, "SUITE-9", value(p.Body, "new-room"))
	ms, err := e.st.Mappings(ctx, "P", "expedia")
	require.NoError(t, err)
	require.Equal(t, []inventory.Mapping{{ChannelRoom: "DBL", RoomType: "DBL-STD"}}, ms, "nothing was mapped")

	// An endpoint that is not a URL: the settings form holds both values typed, and nothing is saved.
	p = e.post(from, from+"/settings", url.Values{"hotel_code": {"EXP-9"}, "endpoint": {"channel.example/ari"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, refusal(t, p), "The settings of expedia were not saved: the endpoint must be an absolute http(s) URL")
	require.Contains(t, refusal(t, p), `href="#settings-title"`)
	require.Equal(t, "EXP-9", value(p.Body, "hotel_code"))
	require.Equal(t, "channel.example/ari", value(p.Body, "endpoint"))
	chans, err := e.st.Channels(ctx, "P")
	require.NoError(t, err)
	for _, ch := range chans {
		require.Empty(t, ch.HotelCode, "nothing was saved")
	}

	// The page as it is otherwise keeps its own values.
	p = e.get(from)
	require.NotContains(t, p.Body, `id="refused"`)
	require.Empty(t, value(p.Body, "new-room"))
}

// The add-a-mapping form offers each rate plan code once, naming the room
// types that have it: it listed "DBL-SUP / BAR", "DBL-STD / BAR" … each
// sending only "BAR", so a rate plan chosen as another room type's was
// mapped, without a word, as the chosen room type's.
func TestTheMappingFormOffersEachRatePlanCodeOnceWithItsRoomTypes(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreateRoomType(ctx, "P", inventory.RoomType{Code: "DBL-SUP", Pool: "DBL"}, inventory.System)
	require.NoError(t, err)
	for _, rp := range []inventory.RatePlan{{Code: "BAR", RoomType: "DBL-STD"}, {Code: "BAR", RoomType: "DBL-SUP"}, {Code: "SEAVIEW", RoomType: "DBL-SUP"}} {
		_, err = e.st.CreateRatePlan(ctx, "P", rp, inventory.System)
		require.NoError(t, err)
	}
	e.login("anna")
	const from = "/admin/p/P/channels/expedia"
	body := e.get(from).Body
	sel := regexp.MustCompile(`(?s)<select id="new-rp".*?</select>`).FindString(body)
	require.NotEmpty(t, sel, body)
	options := regexp.MustCompile(`<option value="([^"]*)"[^>]*>([^<]*)</option>`).FindAllStringSubmatch(sel, -1)
	got := map[string]string{}
	for _, o := range options {
		_, twice := got[o[1]]
		require.False(t, twice, "rate plan %q is offered more than once: %s", o[1], sel)
		got[o[1]] = o[2]
	}
	require.Equal(t, map[string]string{"": "no rate plan", "BAR": "BAR (DBL-STD, DBL-SUP)", "SEAVIEW": "SEAVIEW (DBL-SUP)"}, got)
	list := regexp.MustCompile(`(?s)<datalist id="rate-plans">.*?</datalist>`).FindString(body)
	require.Equal(t, 1, strings.Count(list, `value="BAR"`), list)

	// A code the room type chosen does not have is refused, the form kept.
	p := e.post(from, from+"/mappings", url.Values{"room": {"SUITE-9"}, "room_type": {"DBL-STD"}, "rate_plan": {"SEAVIEW"}})
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, refusal(t, p), "rate plan &#34;SEAVIEW&#34; does not exist for room type DBL-STD")
	require.Regexp(t, `<option value="SEAVIEW" selected>`, p.Body)
}

// A feed URL or outbound credentials refused are answered on the channel's
// page too, with what was typed (a feed's URL excepted: typed again), not
// the bare error page.
func TestARefusedFeedOrCredentialIsShownOnTheChannelPage(t *testing.T) {
	t.Parallel()
	e := newICalUI(t)
	ctx := context.Background()

	const cal = "/admin/p/P/channels/airbnb"
	p := e.post(cal, cal+"/feeds", url.Values{"room_type": {"DBL-STD"}, "url": {"calendar.example/x.ics"}, "poll_interval": {"600"}})
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Channel airbnb")
	why := refusal(t, p)
	require.Contains(t, why, "The feed of airbnb was not saved:")
	require.Contains(t, why, "type its URL again")
	require.Contains(t, why, `href="#set-feed"`)
	require.Contains(t, p.Body, `<option value="DBL-STD" selected>`)
	require.Contains(t, p.Body, `name="poll_interval" type="number" min="60" max="86400" value="600"`)
	p = e.post(cal, cal+"/feeds", url.Values{"room_type": {"DBL-STD"}, "url": {"https://calendar.example/x.ics"}, "poll_interval": {"often"}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, refusal(t, p), "the poll interval is a number of seconds")
	feeds, err := e.st.ICalFeeds(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Empty(t, feeds, "nothing was saved")

	const ota = "/admin/p/P/channels/expedia"
	p = e.post(ota, ota+"/credentials/outbound", url.Values{"username": {""}, "secret": {""}})
	require.Equal(t, http.StatusBadRequest, p.Status)
	require.Contains(t, p.Body, "<h1>Channel expedia")
	require.Contains(t, refusal(t, p), "The credentials keyrack presents to expedia were not saved: type the user name, the secret, or both.")
	require.Contains(t, refusal(t, p), `href="#set-outbound"`)
}

// An export calendar that cannot be created, rotated or revoked — no room
// type chosen, one that does not exist, a channel that is no calendar
// platform, a URL revoked already or gone — is answered with the channel's
// page, why at its top linking to the export calendars, the room type
// chosen kept: it was the bare error page, whose one link led to the grid.
func TestARefusedExportCalendarIsShownOnTheChannelPage(t *testing.T) {
	t.Parallel()
	e := newUI(t)
	e.seedHotel("P", 2)
	ctx := context.Background()
	_, err := e.st.CreateChannel(ctx, "P", inventory.Channel{Code: "airbnb", Kind: inventory.ChannelICal, Enabled: true}, inventory.System)
	require.NoError(t, err)
	revoked, _, err := e.st.CreateExportToken(ctx, "P", "airbnb", "DBL-STD", inventory.System)
	require.NoError(t, err)
	_, err = e.st.RevokeExportToken(ctx, "P", "airbnb", revoked.ID, inventory.System)
	require.NoError(t, err)
	e.login("anna")

	const cal = "/admin/p/P/channels/airbnb"
	p := e.post(cal, cal+"/export-tokens", url.Values{"room_type": {""}})
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Channel airbnb")
	why := refusal(t, p)
	require.Contains(t, why, "No export calendar was created: choose the room type whose calendar to export.")
	require.Contains(t, why, `href="#new-token"`)
	require.Contains(t, section(t, p.Body, "tokens-title"), `id="new-token"`)

	p = e.post(cal, cal+"/export-tokens", url.Values{"room_type": {"DBL-SUP"}})
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, refusal(t, p), "No export calendar was created: room type &#34;DBL-SUP&#34; does not exist")

	for _, action := range []string{"rotate", "revoke"} {
		for _, id := range []string{"999", "x"} {
			p = e.post(cal, cal+"/export-tokens/"+id+"/"+action, nil)
			require.Equal(t, http.StatusNotFound, p.Status, "%s %s: %s", action, id, p.Body)
			require.Contains(t, p.Body, "<h1>Channel airbnb")
			require.Contains(t, refusal(t, p), "There is no export URL "+id+" of airbnb", action)
			require.Contains(t, refusal(t, p), `href="#tokens-title"`)
		}
	}
	p = e.post(cal, cal+"/export-tokens/"+strconv.FormatInt(revoked.ID, 10)+"/rotate", nil)
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, refusal(t, p), "The export URL "+revoked.Prefix+"… of DBL-STD was not rotated: it is revoked already")

	// A form posted to a channel that is no calendar platform: its own page says why.
	const ota = "/admin/p/P/channels/expedia"
	p = e.post(ota, ota+"/export-tokens", url.Values{"room_type": {"DBL-STD"}})
	require.Equal(t, http.StatusBadRequest, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Channel expedia")
	require.Equal(t, "No export calendar was created: expedia is not a calendar platform (iCal), which alone fetches export calendars.", refusal(t, p))

	tokens, err := e.st.ExportTokens(ctx, "P", "airbnb")
	require.NoError(t, err)
	require.Len(t, tokens, 1, "nothing was created")
	require.NotNil(t, tokens[0].RevokedAt)
}

// A mapping deleted, or a feed synced, that is gone meanwhile (another
// admin deleted it; a page left open) is answered with the channel's page
// and why, not the bare error page.
func TestAMappingOrFeedGoneMeanwhileIsSaidOnTheChannelPage(t *testing.T) {
	t.Parallel()
	e := newICalUI(t)
	ctx := context.Background()

	const ota = "/admin/p/P/channels/expedia"
	for _, confirm := range []string{"", "yes"} {
		p := e.post(ota, ota+"/mappings/delete", url.Values{"room": {"SUITE"}, "rate": {""}, "confirm": {confirm}})
		require.Equal(t, http.StatusNotFound, p.Status, p.Body)
		require.Contains(t, p.Body, "<h1>Channel expedia")
		require.Contains(t, refusal(t, p), "expedia has no mapping of room SUITE: someone may have deleted it already.")
		require.Contains(t, refusal(t, p), `href="#mappings-title"`)
	}
	ms, err := e.st.Mappings(ctx, "P", "expedia")
	require.NoError(t, err)
	require.Len(t, ms, 1, "nothing was deleted")

	const cal = "/admin/p/P/channels/airbnb"
	p := e.post(cal, cal+"/feeds/999/sync", nil)
	require.Equal(t, http.StatusNotFound, p.Status, p.Body)
	require.Contains(t, p.Body, "<h1>Channel airbnb")
	require.Contains(t, refusal(t, p), "Nothing was fetched: channel airbnb has no iCal feed 999")
	require.Contains(t, refusal(t, p), `href="#feeds-title"`)
}
