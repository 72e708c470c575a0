package web

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/connectors/ical"
	"github.com/keyrack/keyrack/inventory"
)

func (s *Server) routeICal(e *gin.Engine) {
	e.GET("/ical/:file", s.icalExport)
	e.HEAD("/ical/:file", s.icalExport)
}

// icalExport serves keyrack's calendar of a room type for an iCal channel
// at /ical/{token}.ics: every night from today to the channel's horizon on
// which the room type cannot be sold, except those taken by the channel's
// own bookings (loop suppression: the platform knows them, and seeing them
// back would look like someone else's booking), and every night beyond the
// horizon, of which keyrack tells the platform nothing, as one event. A run of nights that began
// before today keeps the UID of its first night, so that importers see the
// same event every day. The token is the only credential, as calendar
// platforms allow nothing else; it is compared by its hash and can be
// revoked or rotated through the API.
//
// The ETag depends on the nights only, and Last-Modified (and the events'
// DTSTAMP) is when the calendar last changed, so a platform polling with
// If-None-Match or If-Modified-Since gets 304 until something changes.
func (s *Server) icalExport(c *gin.Context) {
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok || token == "" || len(token) > 128 {
		icalNotFound(c)
		return
	}
	ctx := c.Request.Context()
	t, err := s.store.LookupExportToken(ctx, token)
	if err != nil {
		if inventory.ErrorCode(err) == inventory.ENOTFOUND {
			icalNotFound(c)
			return
		}
		s.icalUnavailable(c, err)
		return
	}
	today := inventory.Tonight(s.now(), t.Location, t.NightSoldUntil)
	nights, err := s.store.BlockedNights(ctx, t.Property, t.Channel, t.RoomType, today, today.AddDays(t.Horizon))
	if err == nil && len(nights) > 0 && nights[0] == today {
		// A run in progress is named after its real first night (see
		// ical.Export.From): read back as far as a stay can be long.
		var before []inventory.Date
		before, err = s.store.BlockedNights(ctx, t.Property, t.Channel, t.RoomType, today.AddDays(-inventory.MaxStayNights), today)
		nights = append(before, nights...)
	}
	if err != nil {
		s.icalUnavailable(c, err)
		return
	}
	exp := ical.Export{
		Name:      t.Property + " " + t.RoomType + " (keyrack)",
		UIDPrefix: strings.ToLower(t.Property + "-" + t.RoomType + "-"),
		From:      today,
		// Beyond the horizon keyrack keeps the platform told of nothing:
		// blocked, or the platform sells those nights as free.
		Horizon:    today.AddDays(t.Horizon),
		HorizonEnd: today.AddDays(t.Horizon + beyondHorizonNights),
	}
	etag := ical.ETag(exp.Encode(nights)) // Stamp left zero: the tag follows the nights alone
	changed := t.ServedChangedAt
	if etag != t.ServedETag {
		if changed, err = s.store.NoteExportServed(ctx, token, etag); err != nil {
			s.icalUnavailable(c, err)
			return
		}
	}
	h := c.Writer.Header()
	h.Set("ETag", etag)
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Cache-Control", "private, no-cache")
	exp.Stamp = changed
	// net/http answers If-None-Match and If-Modified-Since (304) and HEAD.
	http.ServeContent(c.Writer, c.Request, "", changed, bytes.NewReader(exp.Encode(nights)))
}

// beyondHorizonNights is how far past the channel's horizon the export
// blocks every night: three years, longer than platforms let guests book
// ahead (Airbnb's longest availability window is three years).
const beyondHorizonNights = 3 * 366

// icalNotFound answers an unknown, revoked or malformed token alike.
func icalNotFound(c *gin.Context) {
	c.Data(http.StatusNotFound, "text/plain; charset=utf-8", []byte("no such calendar\n"))
}

// icalUnavailable answers a failure on keyrack's side with 503, so the
// platform keeps the calendar it has rather than emptying it.
func (s *Server) icalUnavailable(c *gin.Context, err error) {
	s.log.Error("ical: the calendar could not be served", "err", err)
	c.Header("Retry-After", "60")
	c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("calendar temporarily unavailable\n"))
}
