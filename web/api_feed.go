package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// The PMS pull feed: the reservation revisions a PMS channel has not
// acknowledged yet, and their acknowledgement. The same revisions go out by
// signed webhook when the channel has an endpoint (sync/feed.go).

// feedScope sets the property of a feed request: the key's own, or
// ?property= for a key of all properties.
func (s *Server) feedScope(c *gin.Context) {
	code := c.Query("property")
	if code == "" {
		code = apiKey(c).Property
	}
	if code == "" {
		invalid(c, newFieldError("property", "a key for all properties must name the property: ?property=CODE"))
		return
	}
	s.scope(c, code)
}

// feedChannel is ?channel=, or the property's one PMS channel.
func (s *Server) feedChannel(c *gin.Context) (string, bool) {
	if ch := c.Query("channel"); ch != "" {
		return ch, true
	}
	return s.pmsChannel(c)
}

// feedAvailable answers 503 in a process that has no fan-out to read the
// feed from.
func (s *Server) feedAvailable(c *gin.Context) bool {
	if s.fanout == nil {
		abortProblem(c, http.StatusServiceUnavailable, "this keyrack process does not serve the revision feed")
		return false
	}
	return true
}

// revisionFeed lists unacknowledged revisions after ?after=, oldest first.
func (s *Server) revisionFeed(c *gin.Context) {
	if !s.feedAvailable(c) {
		return
	}
	var after int64
	var limit int
	var err error
	if v := c.Query("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			invalid(c, newFieldError("after", "must be a feed id (a whole number ≥ 0)"))
			return
		}
	}
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			invalid(c, newFieldError("limit", "must be a whole number from 1 to 1000"))
			return
		}
	}
	channel, ok := s.feedChannel(c)
	if !ok {
		return
	}
	entries, err := s.fanout.Feed(c.Request.Context(), apiProperty(c).Code, channel, after, limit)
	if err != nil {
		s.fail(c, err, "channel")
		return
	}
	next := after
	if len(entries) > 0 {
		next = entries[len(entries)-1].FeedID
	}
	c.JSON(http.StatusOK, gin.H{"property": apiProperty(c).Code, "channel": channel, "revisions": entries, "next_after": next})
}

// ackRevision records that the PMS has the revision of a feed entry.
// Acknowledging again is a no-op.
func (s *Server) ackRevision(c *gin.Context) {
	if !s.feedAvailable(c) {
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		invalid(c, newFieldError("id", "must be a feed id"))
		return
	}
	channel, ok := s.feedChannel(c)
	if !ok {
		return
	}
	if err := s.fanout.Ack(c.Request.Context(), apiProperty(c).Code, channel, id); err != nil {
		// Ack's only invalid input is the channel (not a PMS): an unknown
		// id is a 404, another channel's a 409.
		s.fail(c, err, "channel")
		return
	}
	c.JSON(http.StatusOK, gin.H{"feed_id": id, "acknowledged": true})
}
