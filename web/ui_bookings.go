package web

import "github.com/gin-gonic/gin"

// routeUIBookings registers the bookings pages under /admin/p/:property.
func (s *Server) routeUIBookings(p *gin.RouterGroup) {}
