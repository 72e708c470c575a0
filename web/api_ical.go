package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// iCal channels: the platform calendars keyrack polls (feeds) and the tokens
// that open keyrack's own calendars to platforms (export tokens).

type icalFeedInJSON struct {
	RoomType     string `json:"room_type"`
	URL          string `json:"url"`
	PollInterval int    `json:"poll_interval_s"`
}

func (s *Server) listICalFeeds(c *gin.Context) {
	prop := apiProperty(c).Code
	if _, ok := s.channelExists(c, prop, c.Param("channel")); !ok {
		return
	}
	fs, err := s.store.ICalFeeds(c.Request.Context(), prop, c.Param("channel"))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if fs == nil {
		fs = []inventory.ICalFeed{}
	}
	c.JSON(http.StatusOK, fs)
}

// setICalFeed sets the calendar URL polled for a room type (one per room
// type and channel; setting it again replaces it). The URL is sealed and
// never shown again: answers carry its host only.
func (s *Server) setICalFeed(c *gin.Context) {
	var in icalFeedInJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "room_type", in.RoomType)
	if in.URL == "" {
		errs = append(errs, newFieldError("url", "is required"))
	}
	if in.PollInterval != 0 && (in.PollInterval < inventory.MinICalPollInterval || in.PollInterval > inventory.MaxICalPollInterval) {
		errs = append(errs, newFieldError("poll_interval_s", fmt.Sprintf("must be from %d to %d seconds", inventory.MinICalPollInterval, inventory.MaxICalPollInterval)))
	}
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	if s.secrets == nil {
		abortProblem(c, http.StatusServiceUnavailable, "iCal feed URLs cannot be stored: keyrack runs without KEYRACK_SECRET")
		return
	}
	f, err := s.store.SetICalFeed(c.Request.Context(), s.secrets, apiProperty(c).Code, c.Param("channel"), in.RoomType, in.URL, in.PollInterval, apiKey(c).Actor())
	if err != nil {
		if inventory.ErrorCode(err) == inventory.ENOTFOUND && containsRoomType(err) {
			invalid(c, newFieldError("room_type", inventory.ErrorMessage(err)))
			return
		}
		field := "url"
		if strings.HasPrefix(inventory.ErrorMessage(err), "channel") {
			field = "" // not an iCal channel
		}
		s.fail(c, err, field)
		return
	}
	c.JSON(http.StatusOK, f)
}

func containsRoomType(err error) bool {
	return strings.HasPrefix(inventory.ErrorMessage(err), "room type")
}

func pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no "+c.Param("id"))
		return 0, false
	}
	return id, true
}

func (s *Server) deleteICalFeed(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := s.store.DeleteICalFeed(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), id, apiKey(c).Actor()); err != nil {
		s.fail(c, err, "")
		return
	}
	c.Status(http.StatusNoContent)
}

type exportTokenInJSON struct {
	RoomType string `json:"room_type"`
}

type exportTokenCreatedJSON struct {
	inventory.ExportToken
	// Token goes in the calendar URL given to the platform; shown this once.
	Token string `json:"token"`
	Path  string `json:"path"`
}

func (s *Server) listExportTokens(c *gin.Context) {
	prop := apiProperty(c).Code
	if _, ok := s.channelExists(c, prop, c.Param("channel")); !ok {
		return
	}
	ts, err := s.store.ExportTokens(c.Request.Context(), prop, c.Param("channel"))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if ts == nil {
		ts = []inventory.ExportToken{}
	}
	c.JSON(http.StatusOK, ts)
}

func (s *Server) createExportToken(c *gin.Context) {
	var in exportTokenInJSON
	if !bind(c, &in) {
		return
	}
	if errs := checkCode(nil, "room_type", in.RoomType); len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	t, token, err := s.store.CreateExportToken(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), in.RoomType, apiKey(c).Actor())
	if err != nil {
		if inventory.ErrorCode(err) == inventory.ENOTFOUND && containsRoomType(err) {
			invalid(c, newFieldError("room_type", inventory.ErrorMessage(err)))
			return
		}
		s.fail(c, err, "")
		return
	}
	revealsSecret(c)
	c.JSON(http.StatusCreated, exportTokenCreatedJSON{ExportToken: t, Token: token, Path: "/ical/" + token + ".ics"})
}

func (s *Server) revokeExportToken(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := s.store.RevokeExportToken(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), id, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, t)
}

// rotateExportToken replaces a live token with a new one for the same
// calendar; the old one stops answering at once.
func (s *Server) rotateExportToken(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, token, err := s.store.RotateExportToken(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), id, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	revealsSecret(c)
	c.JSON(http.StatusCreated, exportTokenCreatedJSON{ExportToken: t, Token: token, Path: "/ical/" + token + ".ics"})
}

// syncICalFeed makes a feed's poll due now ("sync now"); a worker fetches
// it within seconds, and the feed's last_fetch_at and last_ok_at show how
// it went.
func (s *Server) syncICalFeed(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := s.store.FetchICalFeedNow(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), id); err != nil {
		s.fail(c, err, "")
		return
	}
	c.Status(http.StatusAccepted)
}
