package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// API keys through the API. A key for all properties manages every key; a
// property's key manages the keys of its own property only (it can neither
// see nor make keys for all properties).

type apiKeyInJSON struct {
	Name     string `json:"name"`
	Property string `json:"property,omitempty"` // "" = all properties
}

type apiKeyCreatedJSON struct {
	inventory.APIKey
	// Key is the key itself, shown this once.
	Key string `json:"key"`
}

func (s *Server) listAPIKeys(c *gin.Context) {
	k := apiKey(c)
	keys, err := s.store.APIKeys(c.Request.Context(), k.Property)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if keys == nil {
		keys = []inventory.APIKey{}
	}
	c.JSON(http.StatusOK, keys)
}

func (s *Server) createAPIKey(c *gin.Context) {
	var in apiKeyInJSON
	if !bind(c, &in) {
		return
	}
	k := apiKey(c)
	if !k.AllProperties() && in.Property != k.Property {
		abortProblem(c, http.StatusForbidden, "this API key can only create keys for property "+k.Property)
		return
	}
	if len(in.Name) > 100 {
		invalid(c, newFieldError("name", "is at most 100 characters"))
		return
	}
	nk, secret, err := s.store.CreateAPIKey(c.Request.Context(), in.Property, in.Name, k.Actor())
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		invalid(c, newFieldError("property", inventory.ErrorMessage(err)))
		return
	}
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusCreated, apiKeyCreatedJSON{APIKey: nk, Key: secret})
}

// revokeAPIKey revokes a key by id or prefix.
func (s *Server) revokeAPIKey(c *gin.Context) {
	k := apiKey(c)
	ctx := c.Request.Context()
	target, err := s.store.APIKey(ctx, c.Param("key"))
	if err != nil || (!k.AllProperties() && target.PropertyID != k.PropertyID) {
		abortProblem(c, http.StatusNotFound, "no API key "+c.Param("key"))
		return
	}
	revoked, err := s.store.RevokeAPIKey(ctx, c.Param("key"), k.Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, revoked)
}
