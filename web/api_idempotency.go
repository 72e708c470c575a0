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
		c.Header("Idempotent-Replayed", "true")
		c.Abort()
		c.Data(stored.Status, stored.ContentType, stored.Body)
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
		if err := s.store.CompleteIdempotencyKey(bg, req, inventory.StoredResponse{Status: status,
			ContentType: rec.Header().Get("Content-Type"), Body: rec.buf.Bytes()}); err != nil {
			s.log.Warn("keep idempotent response", "err", err)
		}
	}()
	c.Next()
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
