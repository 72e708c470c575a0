package web

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPIDocument is the OpenAPI 3.1 description of /api/v1, kept in the
// repository as web/openapi.json and served at /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPIDocument []byte

func (s *Server) openapiDocument(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", OpenAPIDocument)
}
