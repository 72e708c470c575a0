package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// The property's settings page: its name and how long into the next
// morning each night is still sold (inventory.Property.NightSoldUntil);
// code, zone and currency are shown, fixed once the property is made.

func (s *Server) routeUIProperty(p *gin.RouterGroup) {
	p.GET("/settings", s.uiPropertySettings)
	p.POST("/settings", s.requireEditor, s.uiSavePropertySettings)
}

// propertySettingsData is the settings page.
type propertySettingsData struct {
	Property inventory.Property
	CanEdit  bool
	// Tonight is the first night sold now; Today the property's date.
	Tonight, Today inventory.Date
	// Name and SoldUntil are the form's values: what was typed, when
	// refused.
	Name, SoldUntil string
	Refused         string
	// Says is the saved setting in words.
	Says string
}

func (s *Server) propertySettings(c *gin.Context) *propertySettingsData {
	p := uiProp(c)
	return &propertySettingsData{Property: p, CanEdit: staff(c).CanEdit(), Tonight: s.propertyTonight(p), Today: s.propertyToday(p),
		Name: p.Name, SoldUntil: inventory.Clock(p.NightSoldUntil), Says: soldUntilSays(p.NightSoldUntil)}
}

func (s *Server) uiPropertySettings(c *gin.Context) {
	s.render(c, http.StatusOK, "property", "Settings", "settings", s.propertySettings(c))
}

func (s *Server) uiSavePropertySettings(c *gin.Context) {
	d := s.propertySettings(c)
	d.Name, d.SoldUntil = strings.TrimSpace(c.PostForm("name")), strings.TrimSpace(c.PostForm("night_sold_until"))
	refuse := func(status int, why string) {
		d.Refused = "The settings were not saved: " + why
		s.render(c, status, "property", "Settings", "settings", d)
	}
	if d.Name == "" {
		refuse(http.StatusBadRequest, "the property needs a name.")
		return
	}
	soldUntil, err := inventory.ParseClock(d.SoldUntil)
	if err != nil || soldUntil > inventory.MaxNightSoldUntil {
		refuse(http.StatusBadRequest, "a night is sold until a time from 00:00 to 12:00 the next morning, written HH:MM ("+d.SoldUntil+" given).")
		return
	}
	before := d.Tonight
	p, err := s.store.UpdateProperty(c.Request.Context(), d.Property.Code, inventory.PropertyUpdate{Name: &d.Name, NightSoldUntil: &soldUntil}, staff(c).Actor())
	if err != nil {
		s.refuseOrFail(c, err, refuse)
		return
	}
	msg := "The settings are saved. " + soldUntilSays(p.NightSoldUntil)
	switch after := s.propertyTonight(p); {
	case after.Before(before):
		msg += " Last night (" + after.String() + ") is on sale again until " + inventory.Clock(p.NightSoldUntil) + ": every channel is being sent it."
	case before.Before(after):
		msg += " Last night (" + before.String() + ") is no longer on sale: the channels are sent nothing more of it."
	}
	redirectFlash(c, "/admin/p/"+p.Code+"/settings", msg)
}

// soldUntilSays says in words how long a property's nights are sold.
func soldUntilSays(d time.Duration) string {
	if d == 0 {
		return "Each night's sale ends at midnight: from then on the channels are sent nothing more of it."
	}
	return "Each night is sold until " + inventory.Clock(d) + " the next morning: until then the channels are still sent its availability."
}
