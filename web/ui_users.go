package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// routeUIUsers mounts the staff users page — admins add, reset and disable
// staff users without a shell (keyrack user does the same from one) — and
// the account page, where anyone changes their own password. An
// admin of one property sees and manages that property's users only; no
// one changes their own account here (they would log themselves out, or
// lock themselves out).
func (s *Server) routeUIUsers(in *gin.RouterGroup) {
	in.GET("/users", s.requireEditor, s.uiUsers)
	in.POST("/users", s.requireEditor, s.uiUserSet)
	in.POST("/users/:name/disable", s.requireEditor, s.uiUserDisable)
	in.GET("/account", s.uiAccount)
	in.POST("/account/password", s.uiAccountPassword)
}

// usersData is the users page.
type usersData struct {
	Me          inventory.StaffUser
	Users       []inventory.StaffUserInfo
	Properties  []inventory.Property // those a new user may be given (every property's admin only)
	MinPassword int
	// Edit is the user the form is filled in with (?user=NAME, the row's
	// Reset link): resetting keeps their role and property unless changed.
	Edit inventory.StaffUserInfo
	// Changes are the latest changes of these users.
	Changes []inventory.StaffAuditEntry
	// Refused says why the form just sent changed nothing, at the top of
	// the page; Edit then holds the name, role and property typed (a
	// password is never written back).
	Refused string
}

const usersPath = "/admin/users"

func (s *Server) uiUsers(c *gin.Context) {
	s.usersPage(c, http.StatusOK, "", nil)
}

// usersPage answers with the users page: its form filled in with the user
// of ?user= (their row's Reset link), or with typed and why it was refused.
func (s *Server) usersPage(c *gin.Context, status int, refused string, typed *inventory.StaffUserInfo) {
	me := staff(c)
	users, err := s.store.StaffUsers(c.Request.Context())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	users = slices.DeleteFunc(users, func(u inventory.StaffUserInfo) bool { return me.Property != "" && u.Property != me.Property })
	d := usersData{Me: me, Users: users, MinPassword: inventory.MinPasswordLength, Refused: refused}
	if typed != nil {
		d.Edit = *typed
	} else if i := slices.IndexFunc(users, func(u inventory.StaffUserInfo) bool { return u.Name == c.Query("user") }); i >= 0 && users[i].Name != me.Name {
		d.Edit = users[i]
	}
	if d.Changes, err = s.store.StaffAudit(c.Request.Context(), me.Property, 20); err != nil {
		s.uiFail(c, err)
		return
	}
	if me.Property == "" {
		if d.Properties, err = s.staffProperties(c); err != nil {
			s.uiFail(c, err)
			return
		}
	}
	s.render(c, status, "users", "Staff users", "users", d)
}

// uiUserSet adds a staff user, or resets one: role, property, password,
// enabled; their sessions end.
func (s *Server) uiUserSet(c *gin.Context) {
	me := staff(c)
	name := strings.TrimSpace(c.PostForm("name"))
	property := c.PostForm("property")
	if me.Property != "" {
		property = me.Property // the form offers no choice
	}
	typed := &inventory.StaffUserInfo{StaffUser: inventory.StaffUser{Name: name, Role: c.PostForm("role"), Property: property}}
	if name == me.Name {
		s.usersPage(c, http.StatusBadRequest, "You cannot change your own account here: another admin can, or keyrack user add on the server.", typed)
		return
	}
	u, err := s.store.SetStaffUserAs(c.Request.Context(), me, name, c.PostForm("role"), property, c.PostForm("password"))
	if err != nil {
		if status, ok := refusedStatus(err); ok {
			who := "The user"
			if name != "" {
				who += " " + name
			}
			s.usersPage(c, status, strings.TrimSuffix(who+" was not saved: "+inventory.ErrorMessage(err), ".")+".", typed)
			return
		}
		s.usersFail(c, err)
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
		s.usersFail(c, err)
		return
	}
	s.log.Info("ui: staff user disabled", "by", me.Name, "user", u.Name)
	redirectFlash(c, usersPath, u.Name+" is disabled and logged out. Saving them again with a new password enables them.")
}

// usersFail is uiFail for the users page's forms: an admin whose own
// account was disabled, changed or reset while they sent the form is
// refused (403), not answered with an error of keyrack's.
func (s *Server) usersFail(c *gin.Context, err error) {
	if inventory.ErrorCode(err) == inventory.EUNAUTHORIZED {
		s.renderError(c, http.StatusForbidden, "Your own account was changed or disabled meanwhile: nothing changed. Log in again.")
		return
	}
	s.uiFail(c, err)
}

// accountPath is where a staff user changes their own password.
const accountPath = "/admin/account"

func (s *Server) uiAccount(c *gin.Context) {
	s.accountPage(c, http.StatusOK, "")
}

// accountPage answers with the account page, saying why a change was
// refused if one was.
func (s *Server) accountPage(c *gin.Context, status int, refused string) {
	s.render(c, status, "account", "Your account", "account", usersData{Me: staff(c), MinPassword: inventory.MinPasswordLength, Refused: refused})
}

// uiAccountPassword changes the logged-in user's password: the current
// one is checked as a login is, its failures counted apart from the login
// form's (StaffPasswordCheckFrom: guesses there do not stop the user
// changing it), and every other session of theirs ends — whoever set the password, an
// admin, or anyone who learnt it, is logged out; this browser stays.
func (s *Server) uiAccountPassword(c *gin.Context) {
	me := staff(c)
	current, next := c.PostForm("current"), c.PostForm("password")
	if next != c.PostForm("confirm") {
		s.accountPage(c, http.StatusBadRequest, "The new password and its confirmation differ: nothing changed.")
		return
	}
	_, token, err := s.store.StaffPasswordCheckFrom(c.Request.Context(), me.Name, current, c.ClientIP())
	if throttled, ok := errors.AsType[*inventory.LoginThrottled](err); ok {
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())))
		s.accountPage(c, http.StatusTooManyRequests, "Too many wrong passwords for your account in the last "+
			minutes(inventory.LoginWindow)+". Try again in "+minutes(throttled.RetryAfter)+": nothing changed.")
		return
	}
	if errors.Is(err, inventory.ErrBadLogin) {
		s.accountPage(c, http.StatusBadRequest, "That is not your current password: nothing changed.")
		return
	}
	if err != nil {
		s.uiFail(c, err)
		return
	}
	if err := s.store.SetStaffPassword(c.Request.Context(), me.Name, next, token); err != nil {
		// The session the check opened goes; if it cannot, it expires
		// unused (inventory.SessionTTL).
		if lerr := s.store.StaffLogout(c.Request.Context(), token); lerr != nil {
			s.log.Warn("ui: the session a password check opened was not ended", "user", me.Name, "err", lerr)
		}
		switch inventory.ErrorCode(err) {
		case inventory.EINVALID:
			s.accountPage(c, http.StatusBadRequest, "That new password will not do ("+inventory.ErrorMessage(err)+"): nothing changed.")
			return
		case inventory.EUNAUTHORIZED: // an admin reset or disabled the account meanwhile
			s.renderError(c, http.StatusUnauthorized, "Your session has ended while the password was being changed (an admin reset or disabled your account): nothing changed.")
			return
		}
		s.uiFail(c, err)
		return
	}
	s.setSessionCookie(c, token)
	s.log.Info("ui: staff user changed their password", "user", me.Name)
	redirectFlash(c, accountPath, "Your password is changed. Your other sessions have ended; this one goes on.")
}
