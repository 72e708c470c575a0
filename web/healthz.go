package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz answers as long as the process can serve HTTP; it checks no
// dependency, so an orchestrator does not restart keyrack because PostgreSQL
// or Redis is down (that is what readyz reports).
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
