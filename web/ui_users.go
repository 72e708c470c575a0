package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// routeUIUsers mounts the staff users page: admins add, reset and disable
// staff users without a shell (keyrack user does the same from one). An
// admin of one property sees and manages that property's users only; no
// one changes their own account here (they would log themselves out, or
// lock themselves out).
func (s *Server) routeUIUsers(in *gin.RouterGroup) {
	in.GET("/users", s.requireEditor, s.uiUsers)
	in.POST("/users", s.requireEditor, s.uiUserSet)
	in.POST("/users/:name/disable", s.requireEditor, s.uiUserDisable)
}

// usersData is the users page.
type usersData struct {
	Me          inventory.StaffUser
	Users       []inventory.StaffUserInfo
	Properties  []inventory.Property // those a new user may be given (every property's admin only)
	MinPassword int
}

const usersPath = "/admin/users"

func (s *Server) uiUsers(c *gin.Context) {
	me := staff(c)
	users, err := s.store.StaffUsers(c.Request.Context())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	users = slices.DeleteFunc(users, func(u inventory.StaffUserInfo) bool { return me.Property != "" && u.Property != me.Property })
	d := usersData{Me: me, Users: users, MinPassword: inventory.MinPasswordLength}
	if me.Property == "" {
		if d.Properties, err = s.staffProperties(c); err != nil {
			s.uiFail(c, err)
			return
		}
	}
	s.render(c, http.StatusOK, "users", "Staff users", "users", d)
}

// uiUserSet adds a staff user, or resets one: role, property, password,
// enabled; their sessions end.
func (s *Server) uiUserSet(c *gin.Context) {
	me := staff(c)
	name := strings.TrimSpace(c.PostForm("name"))
	if name == me.Name {
		s.renderError(c, http.StatusBadRequest, "You cannot change your own account here: another admin can, or keyrack user add on the server.")
		return
	}
	property := c.PostForm("property")
	if me.Property != "" {
		property = me.Property // the form offers no choice
	}
	u, err := s.store.SetStaffUserAs(c.Request.Context(), me, name, c.PostForm("role"), property, c.PostForm("password"))
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.log.Info("ui: staff user set", "by", me.Name, "user", u.Name, "role", u.Role, "property", u.Property)
	where := "every property"
	if u.Property != "" {
		where = u.Property + " only"
	}
	redirectFlash(c, usersPath, fmt.Sprintf("%s (%s, %s) can log in with the password you set; any session of theirs has ended.",
		u.Name, u.Role, where))
}

// uiUserDisable stops a staff user logging in and ends their sessions.
func (s *Server) uiUserDisable(c *gin.Context) {
	me := staff(c)
	name := c.Param("name")
	if name == me.Name {
		s.renderError(c, http.StatusBadRequest, "You cannot disable your own account.")
		return
	}
	u, err := s.store.DisableStaffUserAs(c.Request.Context(), me, name)
	if err != nil {
		s.uiFail(c, err)
		return
	}
	s.log.Info("ui: staff user disabled", "by", me.Name, "user", u.Name)
	redirectFlash(c, usersPath, u.Name+" is disabled and logged out. Saving them again with a new password enables them.")
}
