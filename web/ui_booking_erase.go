package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// uiEraseGuestData erases the personal data of a booking's guest (GDPR
// art. 17: the guest asked): admins only, with the form's confirmation
// ticked, since it cannot be undone. A booking whose stay has not ended
// and that is not cancelled is refused (409) with the store's reason.
func (s *Server) uiEraseGuestData(c *gin.Context) {
	prop := uiProp(c)
	r, ok := s.uiBookingOf(c, prop)
	if !ok {
		return
	}
	id := r.ID
	if c.PostForm("confirm") != "yes" {
		s.renderError(c, http.StatusBadRequest, "Nothing was erased: tick the box to confirm that the guest's data is to be erased for good.")
		return
	}
	e, err := s.store.EraseGuestData(c.Request.Context(), prop.Code, id, staff(c).Actor())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	msg := "The guest data of booking " + r.ExternalID + " from " + r.Channel + " is erased: its guest, and every message and revision that named them, now say only that it was erased. The stay, its nights and its totals stay."
	if e.AlreadyErased {
		msg = "The guest data of booking " + r.ExternalID + " from " + r.Channel + " was erased already, on " + staffTime(e.At, pageZone(c)) + "."
	}
	redirectFlash(c, "/admin/p/"+prop.Code+"/bookings/"+strconv.FormatInt(id, 10), msg)
}
