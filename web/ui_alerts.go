package web

import "github.com/gin-gonic/gin"

// routeUIAlerts registers the alerts pages under /admin/p/:property.
func (s *Server) routeUIAlerts(p *gin.RouterGroup) {}
