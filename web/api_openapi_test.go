package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/keyrack/keyrack/inventory"
	"github.com/keyrack/keyrack/web"
	"github.com/stretchr/testify/require"
)

func loadOpenAPI(t *testing.T, b []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(b)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

func TestOpenAPIDocumentIsValidAndCoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t, web.OpenAPIDocument)
	require.True(t, doc.IsOpenAPI31OrLater())

	s := web.New(web.Config{Logger: slog.New(slog.DiscardHandler)})
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	var routes []string
	for _, r := range s.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		path := param.ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "{$1}")
		routes = append(routes, r.Method+" "+path)
		item := doc.Paths.Find(path)
		require.NotNil(t, item, "route %s %s is not in web/openapi.json", r.Method, path)
		require.NotNil(t, item.GetOperation(r.Method), "route %s %s is not in web/openapi.json", r.Method, path)
	}
	require.Greater(t, len(routes), 20)
	// And nothing is documented that is not served.
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			require.True(t, slices.Contains(routes, method+" "+path), "web/openapi.json documents %s %s, which is not served", method, path)
		}
	}
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	s := web.New(web.Config{Logger: slog.New(slog.DiscardHandler)})
	e := &apiEnv{t: t}
	ts := newTestServer(t, s)
	e.ts = ts
	r := e.do("GET", "/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, string(web.OpenAPIDocument), string(r.Body))
}

func TestOpenAPIValidationCatchesABrokenDocument(t *testing.T) {
	t.Parallel()
	broken := strings.Replace(string(web.OpenAPIDocument), `"#/components/schemas/Shortage"`, `"#/components/schemas/Nowhere"`, 1)
	_, err := openapi3.NewLoader().LoadFromData([]byte(broken))
	if err == nil {
		doc, _ := openapi3.NewLoader().LoadFromData([]byte(broken))
		err = doc.Validate(context.Background())
	}
	require.Error(t, err)
}

// Every kind of incident keyrack raises is one the document lists: a
// client validating GET …/incidents against it must not refuse a new kind.
func TestOpenAPIDocumentListsEveryIncidentKind(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t, web.OpenAPIDocument)
	kind := doc.Components.Schemas["Incident"].Value.Properties["kind"].Value
	for _, k := range inventory.IncidentKinds {
		require.Contains(t, kind.Enum, any(k), "incident kind %s is not in web/openapi.json's Incident.kind", k)
	}
}
