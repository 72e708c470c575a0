package web

import (
	"bytes"
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// idempotency honours the Idempotency-Key header on a property's POST, PUT,
// PATCH and DELETE requests, like Stripe: the first request with a key runs
// and its response is kept (per API key); the same key with the same method,
// path and body gets that response again, marked Idempotent-Replayed: true;
// with anything else a 422. A request still running when its key comes
// again makes the second one a 409; server errors are not kept, so the
// request can be retried with the same key.
func (s *Server) idempotency(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	body, err := readBody(c)
	if err != nil {
		bind(c, new(struct{})) // answers the read error
		return
	}
	req := inventory.IdempotentRequest{PropertyID: apiProperty(c).ID, APIKeyID: apiKey(c).ID, Key: key,
		Method: c.Request.Method, Path: c.Request.URL.RequestURI(), Body: body}
	ctx := c.Request.Context()
	stored, err := s.store.ClaimIdempotencyKey(ctx, req)
	if err != nil {
		if inventory.ErrorCode(err) == inventory.EINVALID {
			invalid(c, newFieldError("Idempotency-Key", inventory.ErrorMessage(err)))
			return
		}
		s.fail(c, err, "")
		return
	}
	if stored != nil {
		body := stored.Body
		if stored.Sealed {
			stored, body = s.openResponse(stored)
		}
		c.Header("Idempotent-Replayed", "true")
		if stored.Location != "" {
			c.Header("Location", stored.Location)
		}
		c.Abort()
		c.Data(stored.Status, stored.ContentType, body)
		return
	}
	rec := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = rec
	// Whatever happens to the request, the claim must not stay half-done.
	defer func() {
		bg := context.WithoutCancel(ctx)
		status := rec.Status()
		if p := recover(); p != nil || status >= 500 {
			if err := s.store.ReleaseIdempotencyKey(bg, req); err != nil {
				s.log.Warn("release idempotency key", "err", err)
			}
			if p != nil {
				panic(p) // for the recoverer
			}
			return
		}
		resp := inventory.StoredResponse{Status: status, ContentType: rec.Header().Get("Content-Type"),
			Location: rec.Header().Get("Location"), Body: rec.buf.Bytes()}
		if c.GetBool(ctxRevealsSecret) {
			resp = s.sealResponse(resp)
		}
		if err := s.store.CompleteIdempotencyKey(bg, req, resp); err != nil {
			s.log.Warn("keep idempotent response", "err", err)
		}
	}()
	c.Next()
}

// ctxRevealsSecret marks an answer that shows a secret once (revealsSecret).
const ctxRevealsSecret = "keyrack.reveals-secret"

// revealsSecret marks the request's answer as showing a secret once (a new
// iCal export URL): kept for an Idempotency-Key, it is sealed with
// KEYRACK_SECRET, like channel credentials, rather than left readable in
// the database where the secret itself is kept only as a hash.
func revealsSecret(c *gin.Context) { c.Set(ctxRevealsSecret, true) }

// sealResponse is resp as kept when it shows a secret: sealed, or without
// KEYRACK_SECRET (or when sealing fails) a 409 saying the first answer is
// not kept.
func (s *Server) sealResponse(resp inventory.StoredResponse) inventory.StoredResponse {
	if s.secrets != nil {
		sealed, err := s.secrets.Seal(string(resp.Body))
		if err == nil {
			return inventory.StoredResponse{Status: resp.Status, ContentType: resp.ContentType, Location: resp.Location, Body: sealed, Sealed: true}
		}
		s.log.Warn("an idempotent response showing a secret could not be sealed; it is not kept", "err", err)
	}
	return *secretNotKept()
}

// openResponse is a sealed kept answer and its body opened, or
// secretNotKept when this server cannot open it (KEYRACK_SECRET changed
// since, or is not set here).
func (s *Server) openResponse(stored *inventory.StoredResponse) (*inventory.StoredResponse, []byte) {
	if s.secrets != nil {
		opened, err := s.secrets.Open(stored.Body)
		if err == nil {
			return stored, []byte(opened)
		}
		s.log.Warn("a sealed idempotent response could not be opened", "err", err)
	}
	notKept := secretNotKept()
	return notKept, notKept.Body
}

// secretNotKept is the replay of an answer that showed a secret and could
// not be kept: the request did what it did, and its secret is gone.
func secretNotKept() *inventory.StoredResponse {
	return &inventory.StoredResponse{Status: http.StatusConflict, ContentType: problemContentType, Body: problemBody(problem{
		Status: http.StatusConflict,
		Detail: "the first request with this Idempotency-Key succeeded and showed a secret once; keyrack keeps such an answer " +
			"only sealed with KEYRACK_SECRET, and cannot give this one again: list what the request made, and rotate it for a new secret"})}
}

// recordingWriter keeps a copy of the response body.
type recordingWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
