package web

import "github.com/gin-gonic/gin"

// routeUIChannels registers the channels pages under /admin/p/:property.
func (s *Server) routeUIChannels(p *gin.RouterGroup) {}
