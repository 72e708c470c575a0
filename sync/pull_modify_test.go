package sync_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/keyrack/keyrack/inventory"
	"github.com/stretchr/testify/require"
)

// A pull-mode channel whose queue serves modifications as
// OTA_HotelResModifyNotifRQ (Booking.com's OTA_HotelResModifyNotif, for
// modified and cancelled reservations) is acknowledged with the matching
// OTA_HotelResModifyNotifRS listing HotelResModifies: an
// OTA_HotelResNotifRS answers the other queue, and the channel refuses it,
// serving the modification again until it gives up.
func TestAPulledModificationIsAcknowledgedWithTheModifyRS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHotel(t, hotelOptions{channels: []string{"A"}, noWorker: true})
	night := h.today.AddDays(3)
	modify := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelResModifyNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="2.001" TimeStamp="2026-11-20T10:00:00+00:00">
  <HotelResModifies>
    <HotelResModify LastModifyDateTime="2026-11-20T10:00:00+00:00" ResStatus="Modify">
      <UniqueID Type="14" ID="BDC-MOD-1"/>
      <RoomStays><RoomStay>
        <RoomTypes><RoomType RoomTypeCode="BDC-DBL"/></RoomTypes>
        <RatePlans><RatePlan RatePlanCode="BAR"/></RatePlans>
        <GuestCounts><GuestCount AgeQualifyingCode="10" Count="2"/></GuestCounts>
        <TimeSpan Start="%s" End="%s"/>
        <BasicPropertyInfo HotelCode="HOTEL-BDC"/>
      </RoomStay></RoomStays>
    </HotelResModify>
  </HotelResModifies>
</OTA_HotelResModifyNotifRQ>`, night, night.AddDays(2))
	empty := `<OTA_HotelResModifyNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="2.001"/>`
	var mu gosync.Mutex
	var acks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			acks = append(acks, string(b))
			_, _ = io.WriteString(w, `<OTA_HotelResModifyNotifRS xmlns="http://www.opentravel.org/OTA/2003/05" Version="2.001"><Success/></OTA_HotelResModifyNotifRS>`)
			return
		}
		if len(acks) == 0 {
			_, _ = io.WriteString(w, modify)
			return
		}
		_, _ = io.WriteString(w, empty)
	}))
	t.Cleanup(srv.Close)
	_, err := h.st.CreateChannel(ctx, h.code, inventory.Channel{Code: "BDC", Kind: inventory.ChannelOTAPull, Enabled: true,
		HotelCode: "HOTEL-BDC", HorizonDays: 30, OTASettings: inventory.OTASettings{PullURL: srv.URL + "/OTA_HotelResModifyNotif", PullInterval: 5}}, inventory.System)
	require.NoError(t, err)
	require.NoError(t, h.st.SetMapping(ctx, h.code, "BDC", inventory.Mapping{ChannelRoom: "BDC-DBL", RoomType: "R0"}, inventory.System))
	h.cfg.Store = h.st
	h.cfg.PullCheckInterval = 20 * time.Millisecond
	h.cfg.PullAllowPrivate = true // the channel is on loopback
	h.startWorker()
	sched := h.fanout()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.RunScheduler(sctx) }()
	t.Cleanup(func() { stop(); <-done })

	eventually(t, convergeTimeout, "the acknowledgement", func() bool { mu.Lock(); defer mu.Unlock(); return len(acks) > 0 })
	require.Equal(t, 9, h.availability(night, night.AddDays(1))["P0"][night], "the modification is applied")
	mu.Lock()
	ack := acks[0]
	mu.Unlock()
	d := etree.NewDocument()
	require.NoError(t, d.ReadFromString(ack))
	require.Equal(t, "OTA_HotelResModifyNotifRS", d.Root().Tag, "the modification queue is acknowledged with:\n%s", ack)
	require.NotNil(t, d.Root().FindElement("./HotelResModifies/HotelResModify"), "%s", ack)
}
