package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// The management and PMS API under /api/v1: JSON in and out, bearer API
// keys, RFC 9457 problem details for every error.

const (
	ctxKey      = "keyrack.apikey"
	ctxProperty = "keyrack.property"
	maxBody     = 1 << 20
)

// routeAPI registers the /api/v1 routes.
func (s *Server) routeAPI(e *gin.Engine) {
	api := e.Group("/api/v1")
	api.GET("/openapi.json", s.openapiDocument)

	a := api.Group("", s.authenticate, refuseUnstorableAddress)
	a.GET("/properties", s.listProperties)
	a.POST("/properties", s.createProperty)
	a.GET("/api-keys", s.listAPIKeys)
	a.POST("/api-keys", s.createAPIKey)
	a.DELETE("/api-keys/:key", s.revokeAPIKey)

	r := a.Group("/revisions", s.feedScope)
	r.GET("/feed", s.revisionFeed)
	r.POST("/:id/ack", s.ackRevision)

	p := a.Group("/properties/:property", s.propertyScope, s.idempotency)
	p.GET("", s.getProperty)
	p.PATCH("", s.updateProperty)
	p.GET("/pools", s.listPools)
	p.POST("/pools", s.createPool)
	p.PATCH("/pools/:pool", s.updatePool)
	p.PUT("/pools/:pool/nights", s.editNights)
	p.GET("/room-types", s.listRoomTypes)
	p.POST("/room-types", s.createRoomType)
	p.GET("/rate-plans", s.listRatePlans)
	p.POST("/rate-plans", s.createRatePlan)
	p.GET("/channels", s.listChannels)
	p.POST("/channels", s.createChannel)
	p.GET("/channels/:channel", s.getChannel)
	p.PATCH("/channels/:channel", s.updateChannel)
	p.PUT("/channels/:channel/credentials", s.setCredentials)
	p.GET("/channels/:channel/mappings", s.listMappings)
	p.PUT("/channels/:channel/mappings", s.setMapping)
	p.DELETE("/channels/:channel/mappings", s.deleteMapping)
	p.GET("/channels/:channel/messages", s.listInboundMessages)
	p.GET("/channels/:channel/ical-feeds", s.listICalFeeds)
	p.PUT("/channels/:channel/ical-feeds", s.setICalFeed)
	p.DELETE("/channels/:channel/ical-feeds/:id", s.deleteICalFeed)
	p.POST("/channels/:channel/ical-feeds/:id/sync", s.syncICalFeed)
	p.GET("/channels/:channel/export-tokens", s.listExportTokens)
	p.POST("/channels/:channel/export-tokens", s.createExportToken)
	p.DELETE("/channels/:channel/export-tokens/:id", s.revokeExportToken)
	p.POST("/channels/:channel/export-tokens/:id/rotate", s.rotateExportToken)
	p.GET("/availability", s.availability)
	p.POST("/reservations", s.createReservation)
	p.GET("/reservations/:channel/:id", s.getReservation)
	p.PUT("/reservations/:channel/:id", s.modifyReservation)
	p.POST("/reservations/:channel/:id/cancel", s.cancelReservation)
	p.POST("/reservations/:channel/:id/erase-guest-data", s.eraseGuestData)
	p.GET("/incidents", s.listIncidents)
	p.POST("/incidents/:id/resolve", s.resolveIncident)
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []fieldError `json:"errors,omitempty"`
	// ShortNights lists the nights a booking did not fit (409).
	ShortNights []inventory.Shortage `json:"short_nights,omitempty"`
}

// fieldError names one invalid field of a request.
type fieldError struct {
	Field   string `json:"field"`   // dotted path, e.g. stays[0].arrival
	Pointer string `json:"pointer"` // JSON pointer into the request body
	Detail  string `json:"detail"`
}

func newFieldError(field, detail string) fieldError {
	p := "/" + strings.NewReplacer(".", "/", "[", "/", "]", "").Replace(field)
	return fieldError{Field: field, Pointer: p, Detail: detail}
}

// problemTypes gives each kind of problem a stable type URI and title.
var problemTypes = map[int][2]string{
	http.StatusBadRequest:            {"invalid", "The request is not valid"},
	http.StatusUnauthorized:          {"unauthorized", "A valid API key is required"},
	http.StatusForbidden:             {"forbidden", "The API key may not do this"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusConflict:              {"conflict", "The request conflicts with the current state"},
	http.StatusRequestEntityTooLarge: {"too-large", "The request body is too large"},
	http.StatusUnprocessableEntity:   {"idempotency-mismatch", "The Idempotency-Key was used for a different request"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
	http.StatusServiceUnavailable:    {"unavailable", "Not available"},
}

// problemType is a problem's type URI; keyrack has no site of its own, so
// the types are URNs (RFC 9457 allows any URI).
func problemType(name string) string { return "urn:keyrack:problem:" + name }

func writeProblem(c *gin.Context, p problem) {
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="keyrack"`)
	}
	c.Abort()
	c.Data(p.Status, problemContentType, problemBody(p))
}

const problemContentType = "application/problem+json"

// problemBody is p as its JSON document, with its type and title filled in.
func problemBody(p problem) []byte {
	t := problemTypes[p.Status]
	if p.Type == "" {
		p.Type = problemType(t[0])
	}
	if p.Title == "" {
		p.Title = t[1]
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // details quote "<key>" and the like
	_ = enc.Encode(p)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// refuseUnstorableAddress answers a path that names what PostgreSQL text
// cannot hold (a NUL, bytes that are not UTF-8) with 404 — nothing is
// stored under such a name — and such a query parameter with 400, naming
// it: a reservation id %00 reached the database and came back a 500.
// (Bodies are checked by bind.)
func refuseUnstorableAddress(c *gin.Context) {
	switch name, inPath := unstorable(c, c.Request.URL.Query()); {
	case name == "":
		c.Next()
		return
	case inPath:
		abortProblem(c, http.StatusNotFound, "no "+name+" is named so: it holds "+unstorableText)
	default:
		invalid(c, newFieldError(name, "holds "+unstorableText))
	}
	c.Abort()
}

func abortProblem(c *gin.Context, status int, detail string) {
	writeProblem(c, problem{Status: status, Detail: detail})
}

func invalid(c *gin.Context, errs ...fieldError) {
	detail := "the request has invalid fields"
	if len(errs) == 1 {
		detail = errs[0].Field + ": " + errs[0].Detail
	}
	writeProblem(c, problem{Status: http.StatusBadRequest, Detail: detail, Errors: errs})
}

// fail answers with the problem an inventory error stands for; field, when
// not "", is named as the invalid field of an EINVALID error (else the one
// the error names, if any).
func (s *Server) fail(c *gin.Context, err error, field string) {
	var ie *inventory.Error
	if !errors.As(err, &ie) {
		s.log.Error("api request failed", "route", route(c), "err", err)
		abortProblem(c, http.StatusInternalServerError, "")
		return
	}
	switch ie.Code {
	case inventory.EINVALID:
		if field == "" {
			field = ie.Field
		}
		if field != "" {
			invalid(c, newFieldError(field, ie.Message))
			return
		}
		abortProblem(c, http.StatusBadRequest, ie.Message)
	case inventory.ENOTFOUND:
		abortProblem(c, http.StatusNotFound, ie.Message)
	case inventory.ECONFLICT:
		writeProblem(c, problem{Status: http.StatusConflict, Detail: ie.Message, ShortNights: ie.Short})
	case inventory.EMISMATCH:
		abortProblem(c, http.StatusUnprocessableEntity, ie.Message)
	case inventory.EUNAUTHORIZED:
		abortProblem(c, http.StatusUnauthorized, ie.Message)
	default:
		s.log.Error("api request failed", "route", route(c), "err", err)
		abortProblem(c, http.StatusInternalServerError, "")
	}
}

// readBody reads the request body once (idempotency may have read it already).
func readBody(c *gin.Context) ([]byte, error) {
	if b, ok := c.Get("keyrack.body"); ok {
		return b.([]byte), nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		return nil, err
	}
	c.Set("keyrack.body", b)
	return b, nil
}

// bind decodes the JSON body into v, refusing unknown fields, wrong types
// and trailing data, and answers 400 naming the field when it cannot.
func bind(c *gin.Context, v any) bool {
	b, err := readBody(c)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			abortProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
			return false
		}
		abortProblem(c, http.StatusBadRequest, "could not read the request body")
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		abortProblem(c, http.StatusBadRequest, "a JSON body is required")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			f := te.Field
			if f == "" {
				f = "(body)"
			}
			want := "must be " + jsonKind(te.Type.Kind().String())
			switch te.Type.String() {
			case "inventory.Factor":
				want = `must be a decimal string with at most two decimals, e.g. "1.10"`
			case "inventory.Date":
				want = `must be a date string, YYYY-MM-DD`
			}
			invalid(c, newFieldError(f, want))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			invalid(c, newFieldError(name, "unknown field"))
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			abortProblem(c, http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
		default:
			// A value's own UnmarshalText refused it (dates, factors).
			abortProblem(c, http.StatusBadRequest, "the body has an invalid value: "+strings.TrimPrefix(err.Error(), "json: "))
		}
		return false
	}
	if dec.More() {
		abortProblem(c, http.StatusBadRequest, "the body holds more than one JSON value")
		return false
	}
	if f, ok := nulField(b); ok {
		invalid(c, newFieldError(f, `must not contain the NUL character (\u0000)`))
		return false
	}
	return true
}

// nulField is the path of the first field of a JSON body whose name or
// string value holds a NUL character, which JSON allows (as \u0000) and
// PostgreSQL text does not.
func nulField(b []byte) (string, bool) {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return "", false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return "", false
	}
	return nulIn(v, "")
}

func nulIn(v any, at string) (string, bool) {
	switch v := v.(type) {
	case string:
		return cmp.Or(at, "(body)"), strings.ContainsRune(v, 0)
	case []any:
		for i, e := range v {
			if f, ok := nulIn(e, fmt.Sprintf("%s[%d]", at, i)); ok {
				return f, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			f := k
			if at != "" {
				f = at + "." + k
			}
			if strings.ContainsRune(k, 0) {
				return f, true
			}
			if f, ok := nulIn(v[k], f); ok {
				return f, true
			}
		}
	}
	return "", false
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}

// apiKey is the authenticated key of the request.
func apiKey(c *gin.Context) inventory.APIKey {
	k, _ := c.Get(ctxKey)
	return k.(inventory.APIKey)
}

// apiProperty is the property the request addresses.
func apiProperty(c *gin.Context) inventory.Property {
	p, _ := c.Get(ctxProperty)
	return p.(inventory.Property)
}

// authenticate accepts `Authorization: Bearer <key>` with a live key.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if h == "" {
		abortProblem(c, http.StatusUnauthorized, "send an API key: Authorization: Bearer <key>")
		return
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		abortProblem(c, http.StatusUnauthorized, "the Authorization header must be: Bearer <key>")
		return
	}
	k, err := s.store.AuthenticateAPIKey(c.Request.Context(), strings.TrimSpace(key))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.Set(ctxKey, k)
	c.Next()
}

// propertyScope lets a key act only on its own property (403 otherwise) and
// loads the addressed property.
func (s *Server) propertyScope(c *gin.Context) { s.scope(c, c.Param("property")) }

// scope sets the request's property to code if the key may act on it.
func (s *Server) scope(c *gin.Context, code string) {
	k := apiKey(c)
	if !k.AllProperties() && k.Property != code {
		abortProblem(c, http.StatusForbidden, fmt.Sprintf("this API key acts on property %s only", k.Property))
		return
	}
	p, err := s.store.Property(c.Request.Context(), code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.Set(ctxProperty, p)
	c.Next()
}

// requireAllProperties answers 403 unless the key acts on every property.
func requireAllProperties(c *gin.Context, what string) bool {
	if !apiKey(c).AllProperties() {
		abortProblem(c, http.StatusForbidden, what+" needs an API key for all properties")
		return false
	}
	return true
}

// now is the time revisions from the API are stamped with.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
