package web

import "github.com/gin-gonic/gin"

// Routes lists the server's routes, for the OpenAPI test.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }
