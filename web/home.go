package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// homePage says keyrack runs and where to go.
const homePage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>keyrack</title></head>
<body>
<h1>keyrack is running</h1>
<ul>
<li><a href="/admin/">/admin/</a> — the staff admin UI (users: <code>keyrack user add NAME --role admin</code>)</li>
<li><a href="/healthz">/healthz</a> — the process is alive</li>
<li><a href="/readyz">/readyz</a> — PostgreSQL answers (503 if not); Redis is named when it does not ("degraded"), and so is work no keyrack worker or scheduler has done for minutes ("overdue")</li>
</ul>
</body>
</html>
`

func (s *Server) home(c *gin.Context) {
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(homePage))
}
