package web

import "github.com/gin-gonic/gin"

// routeUIGrid registers the grid pages under /admin/p/:property.
func (s *Server) routeUIGrid(p *gin.RouterGroup) {}
