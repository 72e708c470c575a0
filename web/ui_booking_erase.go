package web

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// uiEraseGuestData erases the personal data of a booking's guest (GDPR
// art. 17: the guest asked): admins only, with the form's confirmation
// ticked, since it cannot be undone. A booking whose stay has not ended
// and that is not cancelled is refused (409) with the store's reason.
func (s *Server) uiEraseGuestData(c *gin.Context) {
	prop := uiProp(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(c, http.StatusNotFound, "There is no booking "+c.Param("id")+" in "+prop.Name+".")
		return
	}
	if c.PostForm("confirm") != "yes" {
		s.renderError(c, http.StatusBadRequest, "Nothing was erased: tick the box to confirm that the guest's data is to be erased for good.")
		return
	}
	ctx := c.Request.Context()
	r, err := s.store.ReservationByID(ctx, prop.Code, id)
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		s.renderError(c, http.StatusNotFound, "There is no booking "+strconv.FormatInt(id, 10)+" in "+prop.Name+".")
		return
	}
	if err != nil {
		s.uiFail(c, err)
		return
	}
	e, err := s.store.EraseGuestData(ctx, prop.Code, id, staff(c).Actor())
	if err != nil {
		s.uiFail(c, err)
		return
	}
	msg := "The guest data of booking " + r.ExternalID + " from " + r.Channel + " is erased: its guest, and every message and revision that named them, now say only that it was erased. The stay, its nights and its totals stay."
	if e.AlreadyErased {
		msg = "The guest data of booking " + r.ExternalID + " from " + r.Channel + " was erased already, on " + staffTime(e.At) + "."
	}
	redirectFlash(c, "/admin/p/"+prop.Code+"/bookings/"+strconv.FormatInt(id, 10), msg)
}
