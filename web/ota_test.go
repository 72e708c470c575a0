package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/keyrack/keyrack/connectors/otaxml"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

// otaChannel adds an OTA push channel to property p through the API, with
// hotel code hotel, inbound credentials user/secret and room DBL mapped to
// DBL-STD; settings are extra channel fields.
func (e *apiEnv) otaChannel(p, code, kind, hotel, user, secret string, settings map[string]any) {
	e.t.Helper()
	creds := map[string]any{"inbound_username": user, "inbound_secret": secret}
	body := map[string]any{"code": code, "kind": kind, "hotel_code": hotel, "credentials": creds}
	for k, v := range settings {
		if k == "credentials" { // outbound ones, added to the inbound ones
			maps.Copy(creds, v.(map[string]any))
			continue
		}
		body[k] = v
	}
	e.must(http.StatusCreated, "POST", "/api/v1/properties/"+p+"/channels", body)
	e.must(http.StatusOK, "PUT", "/api/v1/properties/"+p+"/channels/"+code+"/mappings", map[string]any{"channel_room": "DBL", "room_type": "DBL-STD"})
}

// otaPost sends body to /ota/{channel} with HTTP Basic user/secret (none
// when user is "") and extra header pairs.
func (e *apiEnv) otaPost(channel, user, secret string, body []byte, extra ...string) response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.ts.URL+"/ota/"+channel, bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "text/xml")
	if user != "" {
		req.SetBasicAuth(user, secret)
	}
	return e.send(req, extra...)
}

// otaRS parses an answer as an OTA RS.
func otaRS(t *testing.T, r response) *otaxml.Response {
	t.Helper()
	rs, err := otaxml.ParseResponse(r.Body)
	require.NoError(t, err, "answer %d: %s", r.Status, r.Body)
	return rs
}

// resNotif is an OTA_HotelResNotifRQ of one reservation of room DBL, rate
// BAR, as push channels send it.
func resNotif(status, id, hotel, arrival, departure string) []byte {
	return resNotifMade(status, id, hotel, arrival, departure, "2027-01-10T09:59:00")
}

// resNotifMade is resNotif with the reservation's CreateDateTime.
// resNotif's has no time zone, so it does not say when the channel made
// the booking (otaxml.Reservation.ChangedAt): the fan-out dates the
// channel's change from when the message arrived.
func resNotifMade(status, id, hotel, arrival, departure, created string) []byte {
	hrStatus := "Reserved"
	if status == "Cancel" {
		hrStatus = "Cancelled"
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="echo-%[2]s-%[1]s" TimeStamp="2027-01-10T10:00:00+01:00" ResStatus="%[1]s">
  <HotelReservations>
    <HotelReservation ResStatus="%[6]s" CreateDateTime="%[7]s">
      <UniqueID Type="14" ID="%[2]s"/>
      <RoomStays>
        <RoomStay>
          <RoomTypes><RoomType RoomTypeCode="DBL" NumberOfUnits="1"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
          <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
          <TimeSpan Start="%[4]s" End="%[5]s"/>
          <Total AmountAfterTax="240.00" CurrencyCode="EUR"/>
          <BasicPropertyInfo HotelCode="%[3]s"/>
        </RoomStay>
      </RoomStays>
      <ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer>
        <PersonName><GivenName>Ana</GivenName><Surname>Silva</Surname></PersonName>
      </Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
      <ResGlobalInfo>
        <Guarantee><GuaranteesAccepted><GuaranteeAccepted>
          <PaymentCard CardNumber="4111111111111111" SeriesCode="737" ExpireDate="1230" CardType="VI"/>
        </GuaranteeAccepted></GuaranteesAccepted></Guarantee>
      </ResGlobalInfo>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResNotifRQ>`, status, id, hotel, arrival, departure, hrStatus, created)
}

// sold is what property p's pool DBL has sold on night.
func (e *apiEnv) sold(p, night string) int {
	e.t.Helper()
	ns, err := e.st.Availability(context.Background(), p, inventory.MustDate(night), inventory.MustDate(night).AddDays(1))
	require.NoError(e.t, err)
	require.Len(e.t, ns, 1)
	return ns[0].Sold
}

var timeStamp = regexp.MustCompile(`TimeStamp="[^"]*"`)

// The same Commit delivered three times gives one booking and three
// identical success replies, each with our reservation id.
func TestOTACommitDeliveredThreeTimesIsOneBooking(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "bdc-user", "bdc-secret", nil)
	msg := resNotif("Commit", "BDC-1", "HTL-P", "2027-03-01", "2027-03-03")
	var replies []string
	for range 3 {
		r := e.otaPost("bdc", "bdc-user", "bdc-secret", msg)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		rs := otaRS(t, r)
		require.True(t, rs.Success, "%s", r.Body)
		require.Empty(t, rs.Errors)
		require.Equal(t, "echo-BDC-1-Commit", rs.EchoToken)
		replies = append(replies, timeStamp.ReplaceAllString(string(r.Body), ""))
	}
	require.Equal(t, replies[0], replies[1])
	require.Equal(t, replies[0], replies[2])
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "BDC-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status)
	require.Equal(t, 1, res.Revisions)
	require.Contains(t, replies[0], fmt.Sprintf(`ResID_Value="%d"`, res.ID), "our id is returned")
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
	require.Equal(t, 1, e.sold("P", "2027-03-02"))
	require.Equal(t, 0, e.sold("P", "2027-03-03"))

	// The stored revision and the inbound messages keep the raw message, card masked.
	revs, err := e.st.Revisions(context.Background(), "P", res.ID)
	require.NoError(t, err)
	require.NotContains(t, revs[0].Raw, "4111111111111111")
	require.NotContains(t, revs[0].Raw, `SeriesCode="737"`)
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 10)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Equal(t, "ok", m.Outcome)
		require.Equal(t, "OTA_HotelResNotifRQ", m.Message)
		require.NotContains(t, m.Raw, "4111111111111111")
		require.Contains(t, m.Reply, "Success")
	}
	// Staff and integrators see them through the API.
	list := e.must(http.StatusOK, "GET", "/api/v1/properties/P/channels/bdc/messages?limit=2", nil).List(t)
	require.Len(t, list, 2)
	require.Equal(t, "ok", list[0]["outcome"])
	problemOf(t, e.do("GET", "/api/v1/properties/P/channels/bdc/messages?limit=x", e.admin, nil), http.StatusBadRequest)
	problemOf(t, e.do("GET", "/api/v1/properties/P/channels/nope/messages", e.admin, nil), http.StatusNotFound)
}

// A Cancel that arrives before its Commit ends with the booking cancelled,
// holding nothing.
func TestOTACancelBeforeCommitEndsCancelled(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotif("Cancel", "BDC-9", "HTL-P", "2027-03-01", "2027-03-03"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	r = e.otaPost("bdc", "u", "s", resNotif("Commit", "BDC-9", "HTL-P", "2027-03-01", "2027-03-03"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "BDC-9")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
}

// A Modify that arrives before its Commit holds its stays at once: the
// channel has confirmed them to a guest, whether or not the Commit ever
// comes. The Commit, when it comes, is older and changes nothing.
func TestOTAModifyBeforeCommitHoldsItsStays(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotif("Modify", "BDC-8", "HTL-P", "2027-03-05", "2027-03-07"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `ResResponseType="Modified"`)
	held := func(what string) {
		t.Helper()
		res, err := e.st.Reservation(context.Background(), "P", "bdc", "BDC-8")
		require.NoError(t, err)
		require.Equal(t, inventory.Confirmed, res.Status, what)
		require.Equal(t, 0, e.sold("P", "2027-03-01"), what)
		require.Equal(t, 1, e.sold("P", "2027-03-05"), what)
		require.Equal(t, 1, e.sold("P", "2027-03-06"), what)
		require.Equal(t, 0, e.sold("P", "2027-03-07"), what)
	}
	held("the modification alone")
	r = e.otaPost("bdc", "u", "s", resNotif("Commit", "BDC-8", "HTL-P", "2027-03-01", "2027-03-03"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	held("then the booking")
}

// Anyone can send the OTA endpoint a message without the right
// credentials: each is answered 401, but only so many from one sender are
// stored (inventory.UnauthenticatedPerSender), so that a flood cannot fill
// the disk; the right credentials from that sender still work.
func TestAFloodOfUnauthenticatedMessagesIsNotAllStored(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	commit := resNotif("Commit", "R-1", "HTL-P", "2027-04-01", "2027-04-02")
	for i := range inventory.UnauthenticatedPerSender + 10 {
		// A user name each: the same one would be refused (429) after 20.
		r := e.otaPost("a", fmt.Sprintf("user-%d", i), "guess", commit)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
		require.Equal(t, otaxml.TypeAuthentication, otaRS(t, r).Errors[0].Type)
	}
	var stored int
	require.NoError(t, e.st.DB().QueryRow(context.Background(),
		`SELECT count(*) FROM inbound_unattributed WHERE outcome = 'unauthenticated'`).Scan(&stored))
	require.Equal(t, inventory.UnauthenticatedPerSender, stored)
	require.True(t, otaRS(t, e.otaPost("a", "a-user", "a-secret", commit)).Success)
	msgs, err := e.st.InboundMessages(context.Background(), "P", "a", 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the channel's own message is kept")
}

// A message from a sender that could not authenticate is kept only in
// part, and what is kept shows no card number, even one the cut splits.
func TestAnUnauthenticatedMessageCutAtACardNumberKeepsItMasked(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	msg := resNotif("Commit", "R-1", "HTL-P", "2027-03-01", "2027-03-03")
	// A comment before the reservation puts the card number's last digit
	// just past the 16 KiB kept.
	at := bytes.Index(msg, []byte("4111111111111111"))
	ins := bytes.Index(msg, []byte("<HotelReservations>"))
	pad := bytes.Repeat([]byte("x"), 16<<10-15-at-len("<!---->"))
	msg = slices.Concat(msg[:ins], []byte("<!--"), pad, []byte("-->"), msg[ins:])
	require.Equal(t, http.StatusUnauthorized, e.otaPost("bdc", "u", "wrong", msg).Status)
	var raw string
	require.NoError(t, e.st.DB().QueryRow(context.Background(),
		`SELECT raw FROM inbound_unattributed WHERE outcome = 'unauthenticated'`).Scan(&raw))
	require.Less(t, len(raw), len(msg))
	require.False(t, strings.Contains(raw, "4111"), "the first digits of the card number are kept in clear")
}

// A channel's password cannot be guessed at network speed: after 20
// distinct wrong secrets from one address for one channel and user name
// within 15 minutes, that combination is answered 429 with Retry-After —
// the right secret too, unchecked — until the oldest is 15 minutes old.
// Other user names and channels are not held back, nor an OTA retrying
// with the one wrong secret it was configured with.
func TestRepeatedFailedOTAAuthenticationsAreRefusedForAWhile(t *testing.T) {
	t.Parallel()
	var mu gosync.Mutex
	clock := time.Date(2027, 1, 10, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := newAPI(t, func(c *web.Config) { c.Now = now })
	e.hotel("P", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	e.otaChannel("P", "b", "ota_push", "HTL-P", "b-user", "b-secret", nil)
	commit := func(id string) []byte { return resNotif("Commit", id, "HTL-P", "2027-04-01", "2027-04-02") }

	for i := range 20 {
		require.Equal(t, http.StatusUnauthorized, e.otaPost("a", "a-user", fmt.Sprintf("guess-%d", i), commit("G")).Status)
	}
	r := e.otaPost("a", "a-user", "a-secret", commit("R-1"))
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	require.Equal(t, "900", r.Header.Get("Retry-After"))
	rs := otaRS(t, r)
	require.Equal(t, otaxml.TypeAuthentication, rs.Errors[0].Type)
	require.Contains(t, rs.Errors[0].Msg, "too many failed authentications")
	require.Equal(t, 0, e.sold("P", "2027-04-01"), "refused unchecked")

	// Not another channel, nor another user name, nor an OTA sending one
	// wrong secret again and again (its configuration is wrong; it retries).
	for range 30 {
		require.Equal(t, http.StatusUnauthorized, e.otaPost("b", "b-user", "configured-wrong", commit("B-0")).Status)
	}
	require.True(t, otaRS(t, e.otaPost("b", "b-user", "b-secret", commit("B-1"))).Success)
	require.Equal(t, http.StatusUnauthorized, e.otaPost("a", "someone", "x", commit("G")).Status)

	mu.Lock()
	clock = clock.Add(15 * time.Minute)
	mu.Unlock()
	require.True(t, otaRS(t, e.otaPost("a", "a-user", "a-secret", commit("R-1"))).Success, "the window has passed")
}

// A guesser cannot escape the limit on wrong secrets by adding a throwaway
// POS RequestorID (with any MessagePassword) to each message: every user
// name a request presents is counted on its own.
func TestAThrowawayRequestorIDDoesNotEscapeTheLimitOnWrongSecrets(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	commit := resNotif("Commit", "R-1", "HTL-P", "2027-04-01", "2027-04-02")
	withRequestor := func(id string) []byte {
		return bytes.Replace(commit, []byte(`ResStatus="Commit">`),
			fmt.Appendf(nil, `ResStatus="Commit"><POS><Source><RequestorID ID=%q Type="22" MessagePassword="x"/></Source></POS>`, id), 1)
	}
	for i := range 20 {
		r := e.otaPost("a", "a-user", fmt.Sprintf("guess-%d", i), withRequestor(fmt.Sprintf("junk-%d", i)))
		require.Equal(t, http.StatusUnauthorized, r.Status, "guess %d: %s", i, r.Body)
	}
	r := e.otaPost("a", "a-user", "a-secret", withRequestor("junk-new"))
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	r = e.otaPost("a", "a-user", "a-secret", commit)
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-04-01"), "refused unchecked")
}

// Guesses sent at once are limited like guesses sent one after another: of
// a hundred wrong secrets posted together for one channel user name, 20 are
// checked (401) and the rest refused unchecked (429).
func TestWrongOTASecretsSentAtOnceAreLimitedLikeOnesSentInTurn(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	body := resNotif("Commit", "G", "HTL-P", "2027-04-01", "2027-04-02")
	const guesses = 100
	var wg gosync.WaitGroup
	var mu gosync.Mutex
	statuses := map[int]int{}
	start := make(chan struct{})
	for i := range guesses {
		req, err := http.NewRequest("POST", e.ts.URL+"/ota/a", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml")
		req.SetBasicAuth("a-user", fmt.Sprintf("guess-%d", i))
		wg.Go(func() {
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, map[int]int{http.StatusUnauthorized: 20, http.StatusTooManyRequests: guesses - 20}, statuses)
}

// The right secret for one channel account does not carry guesses at
// another's: a request that authenticates by its HTTP Basic credentials and
// also presents another account's RequestorID with a wrong MessagePassword
// has that secret counted as wrong, and past 20 is refused.
func TestTheRightSecretForOneAccountDoesNotCarryGuessesAtAnother(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.hotel("Q", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	e.otaChannel("Q", "a", "ota_push", "HTL-Q", "q-user", "q-secret", map[string]any{"inbound_auth": "message_password"})
	commit := resNotif("Commit", "R-1", "HTL-P", "2027-04-01", "2027-04-02")
	withRequestor := func(secret string) []byte {
		return bytes.Replace(commit, []byte(`ResStatus="Commit">`),
			fmt.Appendf(nil, `ResStatus="Commit"><POS><Source><RequestorID ID="q-user" Type="22" MessagePassword=%q/></Source></POS>`, secret), 1)
	}
	for i := range 20 {
		r := e.otaPost("a", "a-user", "a-secret", withRequestor(fmt.Sprintf("guess-%d", i)))
		require.Equal(t, http.StatusOK, r.Status, "guess %d: %s", i, r.Body)
	}
	r := e.otaPost("a", "a-user", "a-secret", withRequestor("q-secret"))
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	require.True(t, otaRS(t, e.otaPost("a", "a-user", "a-secret", commit)).Success, "the account's own messages go on")
}

// Wrong or missing credentials get an authentication error and write no
// booking; one channel's credentials cannot cancel another channel's booking.
func TestOTAAuthenticationPerChannel(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "a", "ota_push", "HTL-P", "a-user", "a-secret", nil)
	e.otaChannel("P", "b", "ota_push", "HTL-P", "b-user", "b-secret", nil)
	commit := resNotif("Commit", "R-1", "HTL-P", "2027-04-01", "2027-04-02")

	for _, c := range []struct{ name, channel, user, secret string }{
		{"wrong secret", "a", "a-user", "nope"},
		{"no credentials", "a", "", ""},
		{"another channel's credentials", "a", "b-user", "b-secret"},
		{"unknown channel", "zzz", "a-user", "a-secret"},
	} {
		r := e.otaPost(c.channel, c.user, c.secret, commit)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", c.name, r.Body)
		rs := otaRS(t, r)
		require.False(t, rs.Success, c.name)
		require.NotEmpty(t, rs.Errors, c.name)
		require.Equal(t, otaxml.TypeAuthentication, rs.Errors[0].Type, c.name)
	}
	_, err := e.st.Reservation(context.Background(), "P", "a", "R-1")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "nothing was written")
	require.Equal(t, 0, e.sold("P", "2027-04-01"))
	msgs, err := e.st.InboundMessages(context.Background(), "P", "a", 10)
	require.NoError(t, err)
	require.Empty(t, msgs, "unauthenticated messages are not filed under the property")

	// b books R-1; a's credentials and a Cancel of R-1 do not touch it.
	require.True(t, otaRS(t, e.otaPost("b", "b-user", "b-secret", commit)).Success)
	r := e.otaPost("a", "a-user", "a-secret", resNotif("Cancel", "R-1", "HTL-P", "2027-04-01", "2027-04-02"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	res, err := e.st.Reservation(context.Background(), "P", "b", "R-1")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status, "b's booking stands")
	require.Equal(t, 1, e.sold("P", "2027-04-01"))
	r = e.otaPost("b", "a-user", "a-secret", resNotif("Cancel", "R-1", "HTL-P", "2027-04-01", "2027-04-02"))
	require.Equal(t, http.StatusUnauthorized, r.Status, "a's credentials are not b's")
	require.Equal(t, 1, e.sold("P", "2027-04-01"))
}

// twoRooms is an OTA_HotelResNotifRQ of one reservation of two DBL rooms,
// each RoomStay with its own Total (as Expedia and SiteMinder send them)
// and no ResGlobalInfo Total.
func twoRooms(id string) []byte {
	stay := func(total string) string {
		return `<RoomStay>
          <RoomTypes><RoomType RoomTypeCode="DBL"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
          <RoomRates><RoomRate RoomTypeCode="DBL" RatePlanCode="BAR" NumberOfUnits="1"/></RoomRates>
          <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
          <TimeSpan Start="2027-03-01" End="2027-03-03"/>
          <Total AmountAfterTax="` + total + `" CurrencyCode="EUR"/>
          <BasicPropertyInfo HotelCode="HTL-P"/>
        </RoomStay>`
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" EchoToken="e-%[1]s" ResStatus="Commit">
  <HotelReservations>
    <HotelReservation ResStatus="Reserved" CreateDateTime="2027-01-10T09:00:00Z">
      <UniqueID Type="14" ID="%[1]s"/>
      <RoomStays>%[2]s%[3]s</RoomStays>
      <ResGuests><ResGuest><Profiles><ProfileInfo><Profile><Customer>
        <PersonName><GivenName>Ana</GivenName><Surname>Silva</Surname></PersonName>
      </Customer></Profile></ProfileInfo></Profiles></ResGuest></ResGuests>
    </HotelReservation>
  </HotelReservations>
</OTA_HotelResNotifRQ>`, id, stay("200.00"), stay("220.00"))
}

// A booking of two rooms priced per room (RoomStay Totals, no ResGlobalInfo
// Total) is kept with what the guest pays for both: staff must not see a
// booking without a price.
func TestAMultiRoomBookingKeepsTheSumOfItsRoomTotals(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 5)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", twoRooms("MR-1"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 2, e.sold("P", "2027-03-01"))
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "MR-1")
	require.NoError(t, err)
	require.Len(t, res.Stays, 2)
	require.Equal(t, "420.00", res.Total, "the total of the two rooms")
	require.Equal(t, "EUR", res.Currency)
}

// Whatever is malformed, unknown or inconsistent is answered with OTA
// Errors (never a 500) and changes nothing.
func TestOTABadMessagesGetErrorsAndChangeNothing(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	ok := string(resNotif("Commit", "X-1", "HTL-P", "2027-05-01", "2027-05-03"))
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"not XML", "this is not xml", http.StatusOK},
		{"empty", "", http.StatusOK},
		{"DOCTYPE", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + ok[strings.Index(ok, "<OTA"):], http.StatusOK},
		{"unknown message", `<OTA_HotelDescriptiveInfoRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0"/>`, http.StatusOK},
		{"departure before arrival", string(resNotif("Commit", "X-2", "HTL-P", "2027-05-03", "2027-05-01")), http.StatusOK},
		{"ten-year stay", string(resNotif("Commit", "X-3", "HTL-P", "2027-05-01", "2037-05-01")), http.StatusOK},
		{"unknown hotel", string(resNotif("Commit", "X-4", "NOT-OURS", "2027-05-01", "2027-05-03")), http.StatusOK},
		{"bad date", string(resNotif("Commit", "X-5", "HTL-P", "2027-02-30", "2027-05-03")), http.StatusOK},
	} {
		r := e.otaPost("bdc", "u", "s", []byte(c.body))
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		rs := otaRS(t, r)
		require.False(t, rs.Success, "%s: %s", c.name, r.Body)
		require.NotEmpty(t, rs.Errors, c.name)
		require.NotEmpty(t, rs.Errors[0].Msg, c.name)
	}
	for night := range 3 {
		require.Equal(t, 0, e.sold("P", inventory.MustDate("2027-05-01").AddDays(night).String()))
	}
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 20)
	require.NoError(t, err)
	require.Len(t, msgs, 8, "each message is kept with its outcome")
	for _, m := range msgs {
		require.Equal(t, "failed", m.Outcome, "%s", m.Raw)
		require.NotEmpty(t, m.Detail)
	}

	// gzip is accepted; a body over the cap is refused with 413.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(ok))
	require.NoError(t, w.Close())
	r := e.otaPost("bdc", "u", "s", gz.Bytes(), "Content-Encoding", "gzip")
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-05-01"))
	huge := strings.Replace(ok, "<HotelReservations>", "<HotelReservations>"+strings.Repeat("<!-- padding -->", web.DefaultOTAMaxBody/16+1), 1)
	r = e.otaPost("bdc", "u", "s", []byte(huge))
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	require.NotEmpty(t, otaRS(t, r).Errors)
}

// A booking for a room code that is not mapped is kept, parked and raised
// for staff; the reply succeeds with a warning.
func TestOTAUnmappedRoomIsParkedWithAWarning(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	msg := bytes.Replace(resNotif("Commit", "U-1", "HTL-P", "2027-06-01", "2027-06-02"), []byte(`RoomTypeCode="DBL"`), []byte(`RoomTypeCode="SUITE"`), 1)
	r := e.otaPost("bdc", "u", "s", msg)
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.NotEmpty(t, rs.Warnings, "%s", r.Body)
	require.Contains(t, rs.Warnings[0].Msg, "SUITE")
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "U-1")
	require.NoError(t, err)
	require.True(t, res.Parked)
	incidents, err := e.st.Incidents(context.Background(), "P", true)
	require.NoError(t, err)
	require.Len(t, incidents, 1)
	require.Equal(t, "unmapped_booking", string(incidents[0].Kind))
}

// Cancelling a parked booking (its room not mapped) cancels it, and the
// reply says nothing of keeping and parking it: an OTA reads such a
// warning as the cancellation not having been done.
func TestCancellingAParkedBookingIsNotAnsweredAsKeptAndParked(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	suite := func(msg []byte) []byte {
		return bytes.Replace(msg, []byte(`RoomTypeCode="DBL"`), []byte(`RoomTypeCode="SUITE"`), 1)
	}
	require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", suite(resNotif("Commit", "U-9", "HTL-P", "2027-06-01", "2027-06-02")))).Success)
	r := e.otaPost("bdc", "u", "s", suite(resNotif("Cancel", "U-9", "HTL-P", "2027-06-01", "2027-06-02")))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `ResResponseType="Cancelled"`)
	for _, w := range rs.Warnings {
		require.NotContains(t, w.Msg, "parked", "%s", r.Body)
		require.NotEqual(t, otaxml.CodeRoomRateNotFound, w.Code, "%s", r.Body)
	}
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "U-9")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
}

// gdsEnvelope wraps an OTA message as an HTNG/SynXis GDS link sends it:
// SOAP 1.2 with WS-Addressing and a WS-Security UsernameToken of gds-user
// whose password is of passwordType (PasswordText, PasswordDigest).
func gdsEnvelope(passwordType, password string, inner []byte) []byte {
	inner = inner[bytes.Index(inner, []byte("<OTA")):]
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"
  xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
  <soap:Header>
    <wsa:MessageID>urn:uuid:7d1c0b1e-1111-2222-3333-444455556666</wsa:MessageID>
    <wsa:Action>http://htng.org/2014B/HTNG_ReservationService#OTA_HotelResNotifRQ</wsa:Action>
    <wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>
    <wsse:Security><wsse:UsernameToken><wsse:Username>gds-user</wsse:Username>
      <wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#%s">%s</wsse:Password>
    </wsse:UsernameToken></wsse:Security>
  </soap:Header>
  <soap:Body>%s</soap:Body>
</soap:Envelope>`, passwordType, password, inner)
}

// A GDS link sends SOAP 1.2 with WS-Addressing and a WS-Security
// UsernameToken; the reply relates to its MessageID.
func TestGDSSOAP12WithWSSecurityAndRelatesTo(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "synxis", "gds", "HTL-P", "gds-user", "gds-secret", nil)
	inner := resNotif("Commit", "GDS-1", "HTL-P", "2027-07-01", "2027-07-04")
	envelope := func(password string) []byte { return gdsEnvelope("PasswordText", password, inner) }
	r := e.otaPost("synxis", "", "", envelope("wrong"))
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, otaxml.TypeAuthentication, otaRS(t, r).Errors[0].Type)
	require.Equal(t, 0, e.sold("P", "2027-07-01"))

	r = e.otaPost("synxis", "", "", envelope("gds-secret"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, r.Header.Get("Content-Type"), "application/soap+xml")
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Equal(t, "urn:uuid:7d1c0b1e-1111-2222-3333-444455556666", rs.RelatesTo)
	require.Equal(t, 1, e.sold("P", "2027-07-03"))

	// Both messages are kept, the booking's with its revision, but not the
	// passwords they carried (whoever reads them could act as the channel).
	var masked, leaked int
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM `+everyInbound+` WHERE raw LIKE '%PasswordText">***</wsse:Password>%'),
		(SELECT count(*) FROM `+everyInbound+` WHERE raw LIKE '%gds-secret%' OR raw LIKE '%>wrong<%')
			+ (SELECT count(*) FROM reservation_revisions WHERE raw LIKE '%gds-secret%')`).Scan(&masked, &leaked))
	require.Equal(t, 2, masked)
	require.Zero(t, leaked)
}

// expediaNotification wraps an OTA message the way Expedia's Booking
// Notification sends it: SOAP 1.1 with Expedia's own header, the
// credentials in Interface/PayloadInfo/CommDescriptor/Authentication
// (reference/ota-xml.md §2).
func expediaNotification(user, password string, inner []byte) []byte {
	inner = inner[bytes.Index(inner, []byte("<OTA")):]
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">
  <soap-env:Header>
    <Interface xmlns="http://www.newtrade.com/expedia/R14/header" Name="ExpediaDirectConnect" Version="4.0">
      <PayloadInfo RequestId="1234567" RequestorId="Expedia.com" ResponderId="EQCPartner" Location="Body">
        <CommDescriptor SourceId="ExpediaDC" DestinationId="EQCPartner" RetryIndicator="false">
          <Authentication Username="%s" Password="%s"/>
        </CommDescriptor>
        <PayloadDescriptor Name="OTA_HotelResNotifRQ" Version="2003A">
          <PayloadReference SupplierHotelCode="HTL-P" DistributorHotelId="4711"/>
        </PayloadDescriptor>
      </PayloadInfo>
    </Interface>
  </soap-env:Header>
  <soap-env:Body>%s</soap-env:Body>
</soap-env:Envelope>`, user, password, inner)
}

// Expedia's Booking Notification carries its credentials in its own SOAP
// header, neither HTTP Basic nor a WS-Security UsernameToken: a channel set
// to take them from the SOAP header (wsse) authenticates it by them, or
// every Expedia booking would be refused with 401. The password is kept
// out of the stored messages.
func TestAnExpediaBookingNotificationAuthenticatesByItsOwnHeader(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "exp", "ota_push", "HTL-P", "exp-user", "exp-secret", map[string]any{"inbound_auth": "wsse"})
	msg := resNotif("Commit", "EXP-1", "HTL-P", "2027-03-01", "2027-03-03")

	r := e.otaPost("exp", "", "", expediaNotification("exp-user", "wrong-secret", msg))
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-01"))

	r = e.otaPost("exp", "", "", expediaNotification("exp-user", "exp-secret", msg))
	require.Equal(t, http.StatusOK, r.Status, "Expedia's own credentials are refused: %s", r.Body)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))

	var masked, leaked int
	require.NoError(t, e.st.DB().QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM `+everyInbound+` WHERE channel_code = 'exp' AND raw LIKE '%<Authentication Username="exp-user" Password="***"/>%'),
		(SELECT count(*) FROM `+everyInbound+` WHERE raw LIKE '%exp-secret%' OR raw LIKE '%wrong-secret%')
			+ (SELECT count(*) FROM reservation_revisions WHERE raw LIKE '%exp-secret%')`).Scan(&masked, &leaked))
	require.Equal(t, 2, masked, "both messages are kept, their password masked")
	require.Zero(t, leaked)
}

// otaSample is a real third-party OTA message from ../shared/samples/ota.
func otaSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "samples", "ota", name))
	require.NoError(t, err)
	return b
}

// weekendesk adds to property p the channel the Weekendesk samples are
// written for: hotel AL_TEST, RequestorID user / MessagePassword password,
// room RO_TEST mapped to DBL-STD.
func (e *apiEnv) weekendesk(p string) { e.weekendeskAt(p, "AL_TEST") }

// weekendeskAt is weekendesk with the hotel code hotel: the same
// Weekendesk account serving another property.
func (e *apiEnv) weekendeskAt(p, hotel string) {
	e.t.Helper()
	e.must(http.StatusCreated, "POST", "/api/v1/properties/"+p+"/channels", map[string]any{"code": "weekendesk", "kind": "ota_push",
		"hotel_code": hotel, "inbound_auth": "message_password",
		"credentials": map[string]any{"inbound_username": "user", "inbound_secret": "password"}})
	e.must(http.StatusOK, "PUT", "/api/v1/properties/"+p+"/channels/weekendesk/mappings", map[string]any{"channel_room": "RO_TEST", "room_type": "DBL-STD"})
}

// bdcInTwoHotels makes properties P and Q, each with a channel bdc of the
// one account (u/s), hotel codes HTL-P and HTL-Q.
func (e *apiEnv) bdcInTwoHotels() {
	e.t.Helper()
	for _, p := range []string{"P", "Q"} {
		e.hotel(p, 3)
		e.otaChannel(p, "bdc", "ota_push", "HTL-"+p, "u", "s", nil)
	}
}

// Weekendesk's own messages: a booking pushed as OTA_HotelResRQ and its
// cancellation as OTA_CancelRQ naming only HotelReservationIDs,
// authenticated by RequestorID and MessagePassword.
func TestWeekendeskSamplesBookAndCancel(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.weekendesk("P")
	sample := func(name string) []byte { return otaSample(t, name) }
	r := e.otaPost("weekendesk", "", "", sample("weekendesk_OTA_HotelResRQ_booking-notification.xml"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Equal(t, "OTA_HotelResRS", rs.Name)
	require.Equal(t, 1, e.sold("P", "2017-10-31"))

	// With the MessagePassword wrong, nothing is cancelled.
	bad := bytes.Replace(sample("weekendesk_OTA_CancelRQ.xml"), []byte(`MessagePassword="password"`), []byte(`MessagePassword="guess"`), 1)
	require.Equal(t, http.StatusUnauthorized, e.otaPost("weekendesk", "", "", bad).Status)
	require.Equal(t, 1, e.sold("P", "2017-10-31"))

	r = e.otaPost("weekendesk", "", "", sample("weekendesk_OTA_CancelRQ.xml"))
	rs = otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Equal(t, "OTA_CancelRS", rs.Name)
	require.Equal(t, 0, e.sold("P", "2017-10-31"))
}

// An OTA_CancelRQ with CancelType Initiate (OpenTravel's own sample) asks
// what cancelling would cost: the booking stays and keeps its room, and the
// answer is Pending, with a warning saying nothing was cancelled. The same
// message with CancelType Commit cancels it.
func TestACancellationQuoteCancelsNothing(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	// Undated, as the cancellation is.
	book := bytes.Replace(resNotif("Commit", "99999999", "HTL-P", "2027-03-01", "2027-03-03"), []byte(` CreateDateTime="2027-01-10T09:59:00"`), nil, 1)
	require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", book)).Success)
	quote := otaSample(t, "opentravel_OTA_CancelRQ_hotel.xml")
	require.Contains(t, string(quote), `CancelType="Initiate"`)

	r := e.otaPost("bdc", "u", "s", quote)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `Status="Pending"`)
	require.NotEmpty(t, rs.Warnings)
	require.Contains(t, rs.Warnings[0].Msg, "not cancelled")
	res, err := e.st.Reservation(context.Background(), "P", "bdc", "99999999")
	require.NoError(t, err)
	require.Equal(t, inventory.Confirmed, res.Status)
	require.Equal(t, 1, res.Revisions, "no revision is recorded")
	require.Equal(t, 1, e.sold("P", "2027-03-01"))

	r = e.otaPost("bdc", "u", "s", bytes.Replace(quote, []byte(`CancelType="Initiate"`), []byte(`CancelType="Commit"`), 1))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `Status="Cancelled"`)
	res, err = e.st.Reservation(context.Background(), "P", "bdc", "99999999")
	require.NoError(t, err)
	require.Equal(t, inventory.Cancelled, res.Status)
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
}

// OpenTravel's two-phase booking: an OTA_HotelResRQ with ResStatus
// Initiate is only its first step (a Commit confirms it, an Ignore discards
// it). keyrack holds rooms only on Commit: an Initiate holds nothing and is
// answered Pending with a warning saying so, an Ignore is answered Ignored,
// and the Commit books the room.
func TestAnInitiatedReservationHoldsNoRoomUntilItsCommit(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "gds", "ota_push", "HTL-P", "u", "s", nil)
	step := func(status string) []byte {
		msg := resNotif(status, "GDS-2PC", "HTL-P", "2027-03-01", "2027-03-03")
		msg = bytes.ReplaceAll(msg, []byte("OTA_HotelResNotifRQ"), []byte("OTA_HotelResRQ"))
		return bytes.Replace(msg, []byte(` ResStatus="Reserved"`), nil, 1)
	}
	for _, c := range []struct{ status, answer string }{{"Initiate", "Pending"}, {"Ignore", "Ignored"}} {
		r := e.otaPost("gds", "u", "s", step(c.status))
		require.Equal(t, http.StatusOK, r.Status)
		rs := otaRS(t, r)
		require.True(t, rs.Success, "%s", r.Body)
		require.Equal(t, "OTA_HotelResRS", rs.Name)
		require.Contains(t, string(r.Body), `ResResponseType="`+c.answer+`"`, "%s", r.Body)
		require.Len(t, rs.Warnings, 1, "%s", r.Body)
		require.Contains(t, rs.Warnings[0].Msg, "keyrack holds rooms only on Commit")
		require.Equal(t, 0, e.sold("P", "2027-03-01"), "ResStatus %s holds a room", c.status)
		_, err := e.st.Reservation(context.Background(), "P", "gds", "GDS-2PC")
		require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err), "ResStatus %s recorded a booking", c.status)
	}

	r := e.otaPost("gds", "u", "s", step("Commit"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `ResResponseType="Committed"`)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
}

// A message with Target="Test" (OpenTravel: for the test system) is an
// OTA's test booking: on a live channel it is refused with an OTA Error
// saying so, takes no room and is kept as failed. Every reply names the
// system it answers, as the request did (Target echoed).
func TestATestMessageBooksNothingOnALiveChannel(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	target := func(msg []byte, v string) []byte {
		return bytes.Replace(msg, []byte(`Version="1.0"`), []byte(`Version="1.0" Target="`+v+`"`), 1)
	}
	msg := target(resNotif("Commit", "TEST-1", "HTL-P", "2027-03-01", "2027-03-03"), "Test")

	r := e.otaPost("bdc", "u", "s", msg)
	require.Equal(t, http.StatusOK, r.Status)
	rs := otaRS(t, r)
	require.False(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Errors, 1, "%s", r.Body)
	require.Contains(t, rs.Errors[0].Msg, "keyrack takes no test messages on a live channel")
	require.Contains(t, rs.Errors[0].Msg, "nothing was booked")
	require.Contains(t, string(r.Body), `Target="Test"`)
	require.Equal(t, 0, e.sold("P", "2027-03-01"), "a test booking took a live room")
	_, err := e.st.Reservation(context.Background(), "P", "bdc", "TEST-1")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 1)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, "failed", msgs[0].Outcome)
	require.Contains(t, msgs[0].Detail, "no test messages")

	// Nor does a test cancellation cancel a live booking.
	require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", resNotif("Commit", "LIVE-1", "HTL-P", "2027-03-01", "2027-03-03"))).Success)
	r = e.otaPost("bdc", "u", "s", target(resNotif("Cancel", "LIVE-1", "HTL-P", "2027-03-01", "2027-03-03"), "Test"))
	require.False(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))

	r = e.otaPost("bdc", "u", "s", target(resNotif("Commit", "LIVE-2", "HTL-P", "2027-03-01", "2027-03-03"), "Production"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `Target="Production"`)
	require.Equal(t, 2, e.sold("P", "2027-03-01"))
	r = e.otaPost("bdc", "u", "wrong", target(resNotif("Commit", "LIVE-3", "HTL-P", "2027-03-01", "2027-03-03"), "Production"))
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, string(r.Body), `Target="Production"`, "an error reply echoes Target too")
}

// Disabling a channel stops what keyrack sends it, not the bookings it has
// already confirmed to guests: they are recorded and answered as usual,
// and filed with the channel's messages.
func TestADisabledChannelsBookingIsStillRecorded(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	e.must(http.StatusOK, "PATCH", "/api/v1/properties/P/channels/bdc", map[string]any{"enabled": false})
	r := e.otaPost("bdc", "u", "s", resNotif("Commit", "R-1", "HTL-P", "2027-03-01", "2027-03-03"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 5)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, "ok", msgs[0].Outcome)
	require.Equal(t, http.StatusUnauthorized, e.otaPost("bdc", "u", "wrong", resNotif("Cancel", "R-1", "HTL-P", "2027-03-01", "2027-03-03")).Status,
		"its credentials are still checked")
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
}

// A channel set up without a hotel code, for an account that serves one
// property, takes that property's bookings whatever hotel code they name;
// an account serving several properties needs the codes to tell them apart.
func TestAChannelWithoutAHotelCodeTakesItsBookings(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotif("Commit", "R-1", "HTL-P", "2027-03-01", "2027-03-03"))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Empty(t, rs.Warnings, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))

	e.hotel("Q", 3)
	e.otaChannel("Q", "bdc", "ota_push", "HTL-Q", "u", "s", nil)
	r = e.otaPost("bdc", "u", "s", resNotif("Commit", "R-2", "HTL-X", "2027-03-01", "2027-03-03"))
	require.False(t, otaRS(t, r).Success, "an unknown hotel code among several properties: %s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-03-01"))
}

// batch joins the HotelReservation elements of single-reservation messages
// into one message, as channels that batch do.
func batch(msgs ...[]byte) []byte {
	var hrs []byte
	for _, m := range msgs {
		s := bytes.Index(m, []byte("<HotelReservation "))
		e := bytes.Index(m, []byte("</HotelReservation>")) + len("</HotelReservation>")
		hrs = append(hrs, m[s:e]...)
	}
	first := msgs[0]
	s := bytes.Index(first, []byte("<HotelReservation "))
	e := bytes.Index(first, []byte("</HotelReservation>")) + len("</HotelReservation>")
	return bytes.Join([][]byte{first[:s], hrs, first[e:]}, nil)
}

// Several reservations in one message are applied one by one: a bad record
// is reported by its RecordID and does not keep the others out.
func TestOTABatchHasPerRecordResults(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	msg := batch(
		resNotif("Commit", "B-1", "HTL-P", "2027-08-01", "2027-08-02"),
		resNotif("Commit", "B-2", "HTL-P", "2027-08-05", "2027-08-01"), // departure before arrival
		resNotif("Commit", "B-3", "HTL-P", "2027-08-01", "2027-08-03"),
	)
	r := e.otaPost("bdc", "u", "s", msg)
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Warnings, 1, "%s", r.Body)
	require.Equal(t, "2", rs.Warnings[0].RecordID)
	require.Equal(t, 2, e.sold("P", "2027-08-01"))
	require.Equal(t, 1, e.sold("P", "2027-08-02"))
	_, err := e.st.Reservation(context.Background(), "P", "bdc", "B-2")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 1)
	require.NoError(t, err)
	require.Equal(t, "partial", msgs[0].Outcome)
	require.Equal(t, 3, msgs[0].Records)
	require.Contains(t, msgs[0].Detail, "B-2")
}

// A batch (no root ResStatus, as batching senders send it) of a
// cancellation, a new booking and a modification: the reply must not tell
// the channel that every reservation had the first one's outcome (the new
// booking cancelled). With outcomes that differ, the root gives none and
// each HotelReservation says the state it is left in; a batch whose
// records all had one outcome is answered with it at the root.
func TestABatchReplySaysEachReservationsOwnOutcome(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", resNotif("Commit", "CAN", "HTL-P", "2027-03-01", "2027-03-03"))).Success)
	require.True(t, otaRS(t, e.otaPost("bdc", "u", "s", resNotif("Commit", "MOD", "HTL-P", "2027-03-10", "2027-03-11"))).Success)
	msg := batch(
		resNotif("Cancel", "CAN", "HTL-P", "2027-03-01", "2027-03-03"),
		resNotif("Commit", "NEW", "HTL-P", "2027-03-05", "2027-03-06"),
		bytes.Replace(resNotif("Modify", "MOD", "HTL-P", "2027-03-10", "2027-03-12"), []byte(`ResStatus="Reserved"`), []byte(`ResStatus="Modify"`), 1),
	)
	msg = bytes.Replace(msg, []byte(` ResStatus="Cancel">`), []byte(`>`), 1)

	r := e.otaPost("bdc", "u", "s", msg)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
	require.Equal(t, 1, e.sold("P", "2027-03-05"))
	require.Equal(t, 1, e.sold("P", "2027-03-11"))
	require.NotContains(t, string(r.Body), "ResResponseType", "one outcome given for all: %s", r.Body)
	require.Equal(t, map[string]string{"CAN": "Cancelled", "NEW": "Reserved", "MOD": "Reserved"}, hotelResStatuses(t, r.Body))

	r = e.otaPost("bdc", "u", "s", batch(
		resNotif("Commit", "A-1", "HTL-P", "2027-04-01", "2027-04-02"),
		resNotif("Commit", "A-2", "HTL-P", "2027-04-01", "2027-04-02"),
	))
	require.Contains(t, string(r.Body), `ResResponseType="Committed"`, "%s", r.Body)
	require.Equal(t, map[string]string{"A-1": "Reserved", "A-2": "Reserved"}, hotelResStatuses(t, r.Body))
}

// hotelResStatuses is the ResStatus of each HotelReservation an RS lists,
// by the channel's reservation id.
func hotelResStatuses(t *testing.T, body []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<HotelReservation( ResStatus="([^"]*)")?><UniqueID Type="14" ID="([^"]*)"/>`).FindAllSubmatch(body, -1) {
		out[string(m[3])] = string(m[2])
	}
	return out
}

// everyInbound is every stored inbound message, of a property or kept
// under none (a sender that did not authenticate).
const everyInbound = `(SELECT channel_code, raw, outcome FROM inbound_messages
	UNION ALL SELECT channel_code, raw, outcome FROM inbound_unattributed) AS every_message`

// A stay of one year over a 29 February is 366 nights: the OTA parser takes
// it (a stay longer than a year is refused), and so must keyrack — the
// channel has confirmed it to a guest.
func TestAYearLongStayOverALeapDayIsBooked(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotif("Commit", "YEAR-1", "HTL-P", "2027-06-01", "2028-06-01"))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Empty(t, rs.Errors, "%s", r.Body)
	for _, night := range []string{"2027-06-01", "2028-02-29", "2028-05-31"} {
		require.Equal(t, 1, e.sold("P", night), night)
	}
	require.Equal(t, 0, e.sold("P", "2028-06-01"), "the departure day")
}

// An OTA_CancelRQ has no place for a hotel code (OpenTravel's hotel sample
// names none; Weekendesk's puts it in a RequestorID attribute of its own),
// so on a channel account serving several properties a cancellation was
// refused as naming no hotel (Type 10, code 321): the guest's cancellation
// never reached keyrack, and the booking kept its rooms on every channel.
// The property is the one whose channel holds the reservation; a
// reservation none of them holds is still refused, changing nothing.
func TestACancellationNamingNoHotelFindsItsPropertyByTheReservation(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.bdcInTwoHotels()
	e.weekendesk("P")
	e.weekendeskAt("Q", "AL_Q")

	// Weekendesk's own booking and cancellation, for its hotel AL_TEST (P).
	rs := otaRS(t, e.otaPost("weekendesk", "", "", otaSample(t, "weekendesk_OTA_HotelResRQ_booking-notification.xml")))
	require.True(t, rs.Success)
	require.Equal(t, 1, e.sold("P", "2017-10-31"))
	r := e.otaPost("weekendesk", "", "", otaSample(t, "weekendesk_OTA_CancelRQ.xml"))
	rs = otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Empty(t, rs.Errors, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2017-10-31"))

	// OpenTravel's hotel cancellation (CancelType Commit) of a booking at Q.
	r = e.otaPost("bdc", "u", "s", resNotif("Commit", "99999999", "HTL-Q", "2027-03-01", "2027-03-03"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("Q", "2027-03-01"))
	cancel := bytes.Replace(otaSample(t, "opentravel_OTA_CancelRQ_hotel.xml"), []byte(`CancelType="Initiate"`), []byte(`CancelType="Commit"`), 1)
	r = e.otaPost("bdc", "u", "s", cancel)
	rs = otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Contains(t, string(r.Body), `Status="Cancelled"`)
	require.Equal(t, 0, e.sold("Q", "2027-03-01"))
	res, err := e.st.Reservation(context.Background(), "Q", "bdc", "99999999")
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(res.Status))

	// A reservation neither property holds: refused, nothing recorded.
	r = e.otaPost("bdc", "u", "s", bytes.Replace(cancel, []byte(`ID="99999999"`), []byte(`ID="88888888"`), 1))
	rs = otaRS(t, r)
	require.False(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Errors, 1, "%s", r.Body)
	require.Contains(t, rs.Errors[0].Msg, "88888888", "%s", r.Body)
	for _, p := range []string{"P", "Q"} {
		_, err := e.st.Reservation(context.Background(), p, "bdc", "88888888")
		require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
	}
}

// In a batch, the warnings about records keyrack took — a room kept
// parked as unmapped, a night overbooked — named no record: the channel
// could not tell which of its reservations was parked or overbooked (the
// texts name a room code or a night, which several records share). Each
// names its record by RecordID, as refused records do, with Status
// Complete: the record was taken, and a reader that takes a Warning naming
// a record for a refusal of it (as keyrack's own ARI reader does, unless it
// says Complete) is not misled.
func TestWarningsAboutTakenRecordsNameTheirRecord(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 1)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	unmapped := bytes.Replace(resNotif("Commit", "B-2", "HTL-P", "2027-08-01", "2027-08-02"),
		[]byte(`RoomTypeCode="DBL"`), []byte(`RoomTypeCode="SGL"`), 1)
	r := e.otaPost("bdc", "u", "s", batch(
		resNotif("Commit", "B-1", "HTL-P", "2027-08-01", "2027-08-02"),
		unmapped,
		resNotif("Commit", "B-3", "HTL-P", "2027-08-01", "2027-08-02"), // past the one room
	))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Warnings, 2, "%s", r.Body)
	for _, w := range rs.Warnings {
		require.Equal(t, "Complete", w.Status, "%s", r.Body)
		switch {
		case strings.Contains(w.Msg, "not mapped"):
			require.Equal(t, "2", w.RecordID, "%s", r.Body)
		case strings.Contains(w.Msg, "overbooks"):
			// B-1 or B-3, whichever of the two took the room second.
			require.Contains(t, []string{"1", "3"}, w.RecordID, "%s", r.Body)
		default:
			t.Fatalf("unexpected warning %+v: %s", w, r.Body)
		}
	}
	require.Equal(t, 2, e.sold("P", "2027-08-01"))
}

// The OTA endpoint takes messages by POST only. Any other method — a
// partner's engineer opening the URL in a browser to check it, a GET or
// HEAD connectivity probe — got "404 page not found", saying the endpoint
// does not exist; it is 405 with Allow: POST (RFC 9110 §15.5.6), an OTA
// Errors body saying how to send, and nothing stored or changed.
func TestTheOTAEndpointAnswersOtherMethods405(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	for _, method := range []string{"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		req, err := http.NewRequest(method, e.ts.URL+"/ota/bdc", nil)
		require.NoError(t, err)
		req.SetBasicAuth("u", "s")
		r := e.send(req)
		require.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s: %s", method, r.Body)
		require.Equal(t, "POST", r.Header.Get("Allow"), method)
		if method != "HEAD" {
			rs := otaRS(t, r)
			require.Len(t, rs.Errors, 1, "%s: %s", method, r.Body)
			require.Contains(t, rs.Errors[0].Msg, "POST", method)
		}
	}
	msgs, err := e.st.InboundMessages(context.Background(), "P", "bdc", 10)
	require.NoError(t, err)
	require.Empty(t, msgs)
}

// Weekendesk names the hotel of a cancellation in its RequestorID
// (HotelID="AL_TEST"), the only place it has for one in an OTA_CancelRQ.
// On an account serving several properties, a cancellation that overtook
// its booking (no property holds the reservation yet) was refused: the
// booking, when it came, was booked and kept its rooms. The RequestorID's
// HotelID picks the property: the cancellation is kept there and the
// booking stays cancelled.
func TestAWeekendeskCancellationBeforeItsBookingIsKeptAtItsHotel(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.hotel("Q", 3)
	e.weekendesk("P")
	e.weekendeskAt("Q", "AL_Q")
	r := e.otaPost("weekendesk", "", "", otaSample(t, "weekendesk_OTA_CancelRQ.xml"))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	r = e.otaPost("weekendesk", "", "", otaSample(t, "weekendesk_OTA_HotelResRQ_booking-notification.xml"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2017-10-31"))
	res, err := e.st.Reservation(context.Background(), "P", "weekendesk", "12345678")
	require.NoError(t, err)
	require.Equal(t, "cancelled", string(res.Status))
	_, err = e.st.Reservation(context.Background(), "Q", "weekendesk", "12345678")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// A GDS link sending its WS-Security password as a PasswordDigest (a hash of
// a nonce, a time and the password, new in every message) cannot be
// checked: keyrack keeps the channel's secret only as an HMAC. It was
// answered "authentication failed: check the credentials configured for
// it" — the partner checked its credentials, found them right, and every
// message, each digest a fresh "wrong secret", soon met 429s. The answer
// now says what is wrong (PasswordDigest; send PasswordText over HTTPS), a
// digest is not counted as a guessed secret, and the same credentials as
// PasswordText then get through at once.
func TestAWSSecurityPasswordDigestIsRefusedForWhatItIs(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "synxis", "gds", "HTL-P", "gds-user", "gds-secret", nil)
	inner := resNotif("Commit", "GDS-D", "HTL-P", "2027-07-01", "2027-07-04")
	envelope := func(typ, password string) []byte { return gdsEnvelope(typ, password, inner) }
	for i := range 25 {
		r := e.otaPost("synxis", "", "", envelope("PasswordDigest", fmt.Sprintf("ZGlnZXN0LSVk%03d=", i)))
		require.Equal(t, http.StatusUnauthorized, r.Status, "digest %d: %s", i, r.Body)
		rs := otaRS(t, r)
		require.Equal(t, otaxml.TypeAuthentication, rs.Errors[0].Type)
		require.Contains(t, rs.Errors[0].Msg, "PasswordDigest", "digest %d: %s", i, r.Body)
	}
	require.Equal(t, 0, e.sold("P", "2027-07-01"))
	r := e.otaPost("synxis", "", "", envelope("PasswordText", "gds-secret"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("P", "2027-07-01"))
}

// A reservation whose rooms name two hotels (BasicPropertyInfo per
// RoomStay: a travel agent's trip through two hotels of a chain) was
// booked whole at the first one: the second hotel's room took a room at the
// first — sold there, never held at its own. One transaction books one
// property, so the record is refused for what it is (Error 392 naming both
// hotels), nothing booked, and the channel can send one reservation per
// hotel.
func TestAReservationAcrossTwoHotelsIsRefusedNotBookedAtTheFirst(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	one := resNotif("Commit", "TRIP-1", "HTL-P", "2027-03-01", "2027-03-03")
	s := bytes.Index(one, []byte("<RoomStay>"))
	end := bytes.Index(one, []byte("</RoomStay>")) + len("</RoomStay>")
	other := bytes.Replace(one[s:end], []byte(`HotelCode="HTL-P"`), []byte(`HotelCode="HTL-Q"`), 1)
	msg := slices.Concat(one[:end], other, one[end:])
	r := e.otaPost("bdc", "u", "s", msg)
	rs := otaRS(t, r)
	require.False(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Errors, 1, "%s", r.Body)
	require.Equal(t, otaxml.CodeInvalidHotel, rs.Errors[0].Code, "%s", r.Body)
	require.Contains(t, rs.Errors[0].Msg, "HTL-Q", "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
	_, err := e.st.Reservation(context.Background(), "P", "bdc", "TRIP-1")
	require.Equal(t, inventory.ENOTFOUND, inventory.ErrorCode(err))
}

// A reservation may name its hotel in ResGlobalInfo/BasicPropertyInfo (the
// place the 2015B schema gives it for the whole reservation, where keyrack's
// own replies put it) rather than in each RoomStay. keyrack did not read it
// there: on an account serving several hotels the booking was refused as
// naming no hotel, and on one serving a single hotel a booking for another
// hotel was taken. The hotel code is read there too.
func TestAHotelCodeInResGlobalInfoPicksTheProperty(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.bdcInTwoHotels()
	global := func(id, hotel string) []byte {
		msg := resNotif("Commit", id, hotel, "2027-03-01", "2027-03-03")
		msg = bytes.Replace(msg, []byte(`<BasicPropertyInfo HotelCode="`+hotel+`"/>`), nil, 1)
		return bytes.Replace(msg, []byte("</ResGlobalInfo>"), []byte(`<BasicPropertyInfo HotelCode="`+hotel+`"/></ResGlobalInfo>`), 1)
	}
	r := e.otaPost("bdc", "u", "s", global("G-1", "HTL-Q"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 1, e.sold("Q", "2027-03-01"))
	require.Equal(t, 0, e.sold("P", "2027-03-01"))
	r = e.otaPost("bdc", "u", "s", global("G-2", "HTL-X"))
	rs := otaRS(t, r)
	require.False(t, rs.Success, "%s", r.Body)
	require.Equal(t, otaxml.CodeInvalidHotel, rs.Errors[0].Code, "%s", r.Body)
}

// A cancellation that overtakes its booking is kept, and the booking stays
// cancelled when it comes; it was answered Success with no word of it —
// an integration engineer reading the answer could not tell a cancellation
// applied from one waiting for a booking keyrack had not received. The
// answer now says so in a Warning naming the record.
func TestACancellationBeforeItsBookingSaysItWaitsForIt(t *testing.T) {
	t.Parallel()
	e := newAPI(t)
	e.hotel("P", 3)
	e.otaChannel("P", "bdc", "ota_push", "HTL-P", "u", "s", nil)
	r := e.otaPost("bdc", "u", "s", resNotif("Cancel", "EARLY-1", "HTL-P", "2027-08-01", "2027-08-03"))
	rs := otaRS(t, r)
	require.True(t, rs.Success, "%s", r.Body)
	require.Len(t, rs.Warnings, 1, "%s", r.Body)
	require.Contains(t, rs.Warnings[0].Msg, "EARLY-1")
	require.Contains(t, rs.Warnings[0].Msg, "has not been received yet")
	require.Equal(t, "1", rs.Warnings[0].RecordID, "%s", r.Body)

	r = e.otaPost("bdc", "u", "s", resNotif("Commit", "EARLY-1", "HTL-P", "2027-08-01", "2027-08-03"))
	require.True(t, otaRS(t, r).Success, "%s", r.Body)
	require.Equal(t, 0, e.sold("P", "2027-08-01"), "the booking stays cancelled")
}
