package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/keyrack/keyrack/inventory"
)

// The catalogue: properties, pools, room types, rate plans, channels,
// credentials and mappings, addressed by their codes.

var (
	apiCodeRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	apiCurrencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

const codeRule = "use 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"

func checkCode(errs []fieldError, field, code string) []fieldError {
	if code == "" {
		return append(errs, newFieldError(field, "is required"))
	}
	if !apiCodeRE.MatchString(code) {
		return append(errs, newFieldError(field, codeRule))
	}
	return errs
}

type propertyJSON struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	Currency string `json:"currency"`
	// NightSoldUntil is inventory.Property.NightSoldUntil as HH:MM.
	NightSoldUntil string `json:"night_sold_until"`
}

func toPropertyJSON(p inventory.Property) propertyJSON {
	return propertyJSON{Code: p.Code, Name: p.Name, TimeZone: p.TimeZone, Currency: p.Currency,
		NightSoldUntil: inventory.Clock(p.NightSoldUntil)}
}

// nightSoldUntilRule is what night_sold_until takes.
const nightSoldUntilRule = "must be a time of day from 00:00 to 12:00, written HH:MM: how long into the next morning a night is still sold"

// checkNightSoldUntil reads night_sold_until ("" for none given).
func checkNightSoldUntil(errs []fieldError, s string) ([]fieldError, time.Duration) {
	if s == "" {
		return errs, 0
	}
	d, err := inventory.ParseClock(s)
	if err != nil || d > inventory.MaxNightSoldUntil {
		return append(errs, newFieldError("night_sold_until", nightSoldUntilRule)), 0
	}
	return errs, d
}

func (s *Server) listProperties(c *gin.Context) {
	k := apiKey(c)
	out := []propertyJSON{}
	if !k.AllProperties() {
		p, err := s.store.Property(c.Request.Context(), k.Property)
		if err != nil {
			s.fail(c, err, "")
			return
		}
		c.JSON(http.StatusOK, append(out, toPropertyJSON(p)))
		return
	}
	ps, err := s.store.Properties(c.Request.Context())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	for _, p := range ps {
		out = append(out, toPropertyJSON(p))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createProperty(c *gin.Context) {
	if !requireAllProperties(c, "creating a property") {
		return
	}
	var in propertyJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "code", in.Code)
	if in.Name == "" {
		errs = append(errs, newFieldError("name", "is required"))
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil || in.TimeZone == "" || in.TimeZone == "Local" {
		errs = append(errs, newFieldError("time_zone", "must be an IANA time zone name, e.g. Europe/Lisbon"))
	}
	if !inventory.KnownCurrency(in.Currency) {
		errs = append(errs, newFieldError("currency", "must be an ISO 4217 code, e.g. EUR"))
	}
	errs, soldUntil := checkNightSoldUntil(errs, in.NightSoldUntil)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	p, err := s.store.CreateProperty(c.Request.Context(), inventory.Property{Code: in.Code, Name: in.Name, TimeZone: in.TimeZone,
		Currency: in.Currency, NightSoldUntil: soldUntil}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.Header("Location", "/api/v1/properties/"+p.Code)
	c.JSON(http.StatusCreated, toPropertyJSON(p))
}

func (s *Server) getProperty(c *gin.Context) {
	c.JSON(http.StatusOK, toPropertyJSON(apiProperty(c)))
}

type propertyPatchJSON struct {
	Name           *string `json:"name,omitempty"`
	NightSoldUntil *string `json:"night_sold_until,omitempty"`
	// The rest is fixed once made: a property's nights and its channels'
	// prices are in its zone and currency.
	Code     *string `json:"code,omitempty"`
	TimeZone *string `json:"time_zone,omitempty"`
	Currency *string `json:"currency,omitempty"`
}

// updateProperty changes a property's name or how long its nights are sold.
func (s *Server) updateProperty(c *gin.Context) {
	var in propertyPatchJSON
	if !bind(c, &in) {
		return
	}
	var errs []fieldError
	for field, v := range map[string]*string{"code": in.Code, "time_zone": in.TimeZone, "currency": in.Currency} {
		if v != nil {
			errs = append(errs, newFieldError(field, "cannot be changed: make a new property"))
		}
	}
	if in.Name != nil && *in.Name == "" {
		errs = append(errs, newFieldError("name", "must not be empty"))
	}
	u := inventory.PropertyUpdate{Name: in.Name}
	if in.NightSoldUntil != nil {
		var d time.Duration
		if *in.NightSoldUntil == "" {
			errs = append(errs, newFieldError("night_sold_until", nightSoldUntilRule))
		}
		if errs, d = checkNightSoldUntil(errs, *in.NightSoldUntil); len(errs) == 0 {
			u.NightSoldUntil = &d
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b fieldError) int { return strings.Compare(a.Field, b.Field) })
		invalid(c, errs...)
		return
	}
	p, err := s.store.UpdateProperty(c.Request.Context(), apiProperty(c).Code, u, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, toPropertyJSON(p))
}

type poolJSON struct {
	Code              string            `json:"code"`
	Name              string            `json:"name,omitempty"`
	Units             *int              `json:"units"`
	OverbookingFactor *inventory.Factor `json:"overbooking_factor,omitempty"`
}

func (s *Server) listPools(c *gin.Context) {
	ps, err := s.store.Pools(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := make([]poolJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, poolJSON{Code: p.Code, Name: p.Name, Units: &p.Units, OverbookingFactor: &p.OverbookingFactor})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createPool(c *gin.Context) {
	var in poolJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "code", in.Code)
	if in.Units == nil {
		errs = append(errs, newFieldError("units", "is required"))
	} else if *in.Units < 0 || *in.Units > 100000 {
		errs = append(errs, newFieldError("units", "must be between 0 and 100000"))
	}
	f := inventory.FactorOne
	if in.OverbookingFactor != nil {
		f = *in.OverbookingFactor
	}
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	p, err := s.store.CreatePool(c.Request.Context(), apiProperty(c).Code,
		inventory.Pool{Code: in.Code, Name: in.Name, Units: *in.Units, OverbookingFactor: f}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusCreated, poolJSON{Code: p.Code, Name: p.Name, Units: &p.Units, OverbookingFactor: &p.OverbookingFactor})
}

type roomTypeJSON struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
	Pool string `json:"pool"`
}

func (s *Server) listRoomTypes(c *gin.Context) {
	rts, err := s.store.RoomTypes(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := make([]roomTypeJSON, 0, len(rts))
	for _, rt := range rts {
		out = append(out, roomTypeJSON{Code: rt.Code, Name: rt.Name, Pool: rt.Pool})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createRoomType(c *gin.Context) {
	var in roomTypeJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "code", in.Code)
	errs = checkCode(errs, "pool", in.Pool)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	rt, err := s.store.CreateRoomType(c.Request.Context(), apiProperty(c).Code, inventory.RoomType{Code: in.Code, Name: in.Name, Pool: in.Pool}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "pool")
		return
	}
	c.JSON(http.StatusCreated, roomTypeJSON{Code: rt.Code, Name: rt.Name, Pool: rt.Pool})
}

type ratePlanJSON struct {
	Code     string `json:"code"`
	Name     string `json:"name,omitempty"`
	RoomType string `json:"room_type"`
}

func (s *Server) listRatePlans(c *gin.Context) {
	rps, err := s.store.RatePlans(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := make([]ratePlanJSON, 0, len(rps))
	for _, rp := range rps {
		out = append(out, ratePlanJSON{Code: rp.Code, Name: rp.Name, RoomType: rp.RoomType})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createRatePlan(c *gin.Context) {
	var in ratePlanJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "code", in.Code)
	errs = checkCode(errs, "room_type", in.RoomType)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	rp, err := s.store.CreateRatePlan(c.Request.Context(), apiProperty(c).Code, inventory.RatePlan{Code: in.Code, Name: in.Name, RoomType: in.RoomType}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "room_type")
		return
	}
	c.JSON(http.StatusCreated, ratePlanJSON{Code: rp.Code, Name: rp.Name, RoomType: rp.RoomType})
}

// credentialsJSON is what a channel presents to us (inbound) and what we
// present to it (outbound). Secrets go in and never come out.
type credentialsJSON struct {
	InboundUsername  string `json:"inbound_username,omitempty"`
	InboundSecret    string `json:"inbound_secret,omitempty"`
	OutboundUsername string `json:"outbound_username,omitempty"`
	OutboundSecret   string `json:"outbound_secret,omitempty"`
}

type channelJSON struct {
	Code        string                `json:"code"`
	Name        string                `json:"name,omitempty"`
	Kind        inventory.ChannelKind `json:"kind"`
	Enabled     *bool                 `json:"enabled,omitempty"`
	HotelCode   string                `json:"hotel_code,omitempty"`
	Endpoint    string                `json:"endpoint,omitempty"`
	RateLimit   int                   `json:"rate_limit"`
	HorizonDays int                   `json:"horizon_days,omitempty"`
	otaSettingsJSON
	// Credentials are accepted on create; responses never carry secrets.
	Credentials *credentialsJSON `json:"credentials,omitempty"`
}

// otaSettingsJSON are the settings of OTA XML and GDS channels.
type otaSettingsJSON struct {
	InboundAuth  string `json:"inbound_auth,omitempty"`
	Envelope     string `json:"envelope,omitempty"`
	ARIMessage   string `json:"ari_message,omitempty"`
	ARILevel     string `json:"ari_level,omitempty"`
	PullURL      string `json:"pull_url,omitempty"`
	PullInterval int    `json:"pull_interval_s,omitempty"`
	// PullModifyURL is a pull-mode channel's modification queue.
	PullModifyURL string `json:"pull_modify_url,omitempty"`
}

func (o otaSettingsJSON) settings() inventory.OTASettings { return inventory.OTASettings(o) }

// check adds a field error for the first invalid setting.
func (o otaSettingsJSON) check(errs []fieldError) []fieldError {
	s := o.settings()
	if field, problem := s.Check(); field != "" {
		errs = append(errs, newFieldError(field, problem))
	}
	return errs
}

func toChannelJSON(ch inventory.Channel) channelJSON {
	return channelJSON{Code: ch.Code, Name: ch.Name, Kind: ch.Kind, Enabled: &ch.Enabled, HotelCode: ch.HotelCode,
		Endpoint: ch.Endpoint, RateLimit: ch.RateLimit, HorizonDays: ch.HorizonDays, otaSettingsJSON: otaSettingsJSON(ch.OTASettings)}
}

func (s *Server) listChannels(c *gin.Context) {
	chs, err := s.store.Channels(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := make([]channelJSON, 0, len(chs))
	for _, ch := range chs {
		out = append(out, toChannelJSON(ch))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getChannel(c *gin.Context) {
	chs, err := s.store.Channels(c.Request.Context(), apiProperty(c).Code)
	if err != nil {
		s.fail(c, err, "")
		return
	}
	for _, ch := range chs {
		if ch.Code == c.Param("channel") {
			c.JSON(http.StatusOK, toChannelJSON(ch))
			return
		}
	}
	abortProblem(c, http.StatusNotFound, "channel "+c.Param("channel")+" does not exist in property "+apiProperty(c).Code)
}

func (s *Server) createChannel(c *gin.Context) {
	var in channelJSON
	if !bind(c, &in) {
		return
	}
	errs := checkCode(nil, "code", in.Code)
	if !in.Kind.Valid() {
		errs = append(errs, newFieldError("kind", "must be one of ota_push, ota_pull, gds, ical, pms"))
	}
	errs = checkDelivery(errs, &in.RateLimit, &in.Endpoint)
	if in.HorizonDays < 0 || in.HorizonDays > inventory.MaxRangeNights {
		errs = append(errs, newFieldError("horizon_days", "must be between 1 and 1100"))
	}
	if in.Credentials != nil && s.secrets == nil {
		errs = append(errs, newFieldError("credentials", "cannot be stored: keyrack runs without KEYRACK_SECRET"))
	}
	errs = in.otaSettingsJSON.check(errs)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	enabled := true
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	ctx := c.Request.Context()
	ch, err := s.store.CreateChannel(ctx, apiProperty(c).Code, inventory.Channel{Code: in.Code, Name: in.Name, Kind: in.Kind, Enabled: enabled,
		HotelCode: in.HotelCode, Endpoint: in.Endpoint, RateLimit: in.RateLimit, HorizonDays: in.HorizonDays,
		OTASettings: in.settings()}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	if in.Credentials != nil {
		if err := s.store.SetChannelCredentials(ctx, s.secrets, apiProperty(c).Code, ch.Code, credentials(*in.Credentials), apiKey(c).Actor()); err != nil {
			s.fail(c, err, "credentials")
			return
		}
	}
	c.JSON(http.StatusCreated, toChannelJSON(ch))
}

// maxRateLimit is the highest rate limit a channel can have, in requests a
// minute: far beyond any channel's.
const maxRateLimit = 1_000_000

// checkDelivery adds the field errors of a channel's rate limit and
// endpoint (nil: not given).
func checkDelivery(errs []fieldError, rateLimit *int, endpoint *string) []fieldError {
	if rateLimit != nil && (*rateLimit < 0 || *rateLimit > maxRateLimit) {
		errs = append(errs, newFieldError("rate_limit", fmt.Sprintf("must be from 0 (no limit) to %d requests a minute", maxRateLimit)))
	}
	if endpoint != nil && *endpoint != "" && !isEndpointURL(*endpoint) {
		errs = append(errs, newFieldError("endpoint", "must be an absolute http(s) URL, or empty to send nothing"))
	}
	return errs
}

// isEndpointURL reports whether v can be a channel's endpoint: an absolute
// http(s) URL with a host.
func isEndpointURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func credentials(in credentialsJSON) inventory.Credentials {
	return inventory.Credentials{InboundUser: in.InboundUsername, InboundSecret: in.InboundSecret,
		OutboundUser: in.OutboundUsername, OutboundSecret: in.OutboundSecret}
}

// setCredentials replaces what is given of a channel's credentials; an
// omitted secret stays as it is. The answer says which are set, never what.
func (s *Server) setCredentials(c *gin.Context) {
	var in credentialsJSON
	if !bind(c, &in) {
		return
	}
	if s.secrets == nil {
		abortProblem(c, http.StatusServiceUnavailable, "credentials cannot be stored: keyrack runs without KEYRACK_SECRET")
		return
	}
	if err := s.store.SetChannelCredentials(c.Request.Context(), s.secrets, apiProperty(c).Code, c.Param("channel"), credentials(in), apiKey(c).Actor()); err != nil {
		s.fail(c, err, "")
		return
	}
	if in.OutboundSecret != "" || in.OutboundUsername != "" {
		s.retryDeadLetters(c.Request.Context(), apiProperty(c).Code, c.Param("channel"))
	}
	c.Status(http.StatusNoContent)
}

type mappingJSON struct {
	ChannelRoom string `json:"channel_room"`
	ChannelRate string `json:"channel_rate,omitempty"`
	RoomType    string `json:"room_type"`
	RatePlan    string `json:"rate_plan,omitempty"`
}

func (s *Server) listMappings(c *gin.Context) {
	prop := apiProperty(c).Code
	if _, ok := s.channelExists(c, prop, c.Param("channel")); !ok {
		return
	}
	ms, err := s.store.Mappings(c.Request.Context(), prop, c.Param("channel"))
	if err != nil {
		s.fail(c, err, "")
		return
	}
	out := make([]mappingJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, mappingJSON(m))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) channelExists(c *gin.Context, property, channel string) (inventory.Channel, bool) {
	chs, err := s.store.Channels(c.Request.Context(), property)
	if err != nil {
		s.fail(c, err, "")
		return inventory.Channel{}, false
	}
	for _, ch := range chs {
		if ch.Code == channel {
			return ch, true
		}
	}
	abortProblem(c, http.StatusNotFound, "channel "+channel+" does not exist in property "+property)
	return inventory.Channel{}, false
}

// setMapping maps a channel room (and rate) code, replacing an earlier
// mapping of the same codes. The channel's bookings parked for the codes
// take their rooms before it answers (Store.SetMapping); the answer is the
// mapping as before, without their count (README, "Unmapped rooms").
func (s *Server) setMapping(c *gin.Context) {
	var in mappingJSON
	if !bind(c, &in) {
		return
	}
	var errs []fieldError
	if in.ChannelRoom == "" {
		errs = append(errs, newFieldError("channel_room", "is required"))
	}
	errs = checkCode(errs, "room_type", in.RoomType)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	prop := apiProperty(c).Code
	if _, ok := s.channelExists(c, prop, c.Param("channel")); !ok {
		return
	}
	err := s.store.SetMapping(c.Request.Context(), prop, c.Param("channel"), inventory.Mapping(in), apiKey(c).Actor())
	if err == nil {
		s.catchUp(c.Request.Context(), prop, c.Param("channel"))
	}
	if inventory.ErrorCode(err) == inventory.ENOTFOUND {
		// The channel exists: what is missing is the room type or rate plan named in the body.
		field := "room_type"
		if strings.HasPrefix(inventory.ErrorMessage(err), "rate plan") {
			field = "rate_plan"
		}
		invalid(c, newFieldError(field, inventory.ErrorMessage(err)))
		return
	}
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, in)
}

type poolPatchJSON struct {
	Name              *string           `json:"name,omitempty"`
	Units             *int              `json:"units,omitempty"`
	OverbookingFactor *inventory.Factor `json:"overbooking_factor,omitempty"`
}

// updatePool changes a pool's name, or its units and factor on every night
// from today on except those given their own (PUT .../nights).
func (s *Server) updatePool(c *gin.Context) {
	var in poolPatchJSON
	if !bind(c, &in) {
		return
	}
	if in.Units != nil && (*in.Units < 0 || *in.Units > 100000) {
		invalid(c, newFieldError("units", "must be between 0 and 100000"))
		return
	}
	if in.Name != nil && *in.Name == "" {
		invalid(c, newFieldError("name", "must not be empty"))
		return
	}
	p, err := s.store.UpdatePool(c.Request.Context(), apiProperty(c).Code, c.Param("pool"),
		inventory.PoolPatch{Name: in.Name, Units: in.Units, OverbookingFactor: in.OverbookingFactor}, apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	c.JSON(http.StatusOK, poolJSON{Code: p.Code, Name: p.Name, Units: &p.Units, OverbookingFactor: &p.OverbookingFactor})
}

type channelPatchJSON struct {
	Name         *string `json:"name,omitempty"`
	Enabled      *bool   `json:"enabled,omitempty"`
	HotelCode    *string `json:"hotel_code,omitempty"`
	Endpoint     *string `json:"endpoint,omitempty"`
	RateLimit    *int    `json:"rate_limit,omitempty"`
	HorizonDays  *int    `json:"horizon_days,omitempty"`
	InboundAuth  *string `json:"inbound_auth,omitempty"`
	Envelope     *string `json:"envelope,omitempty"`
	ARIMessage   *string `json:"ari_message,omitempty"`
	ARILevel     *string `json:"ari_level,omitempty"`
	PullURL      *string `json:"pull_url,omitempty"`
	PullInterval *int    `json:"pull_interval_s,omitempty"`
	// PullModifyURL sets a pull-mode channel's modification queue.
	PullModifyURL *string `json:"pull_modify_url,omitempty"`
}

// updateChannel changes a channel's settings; its code and kind stay.
func (s *Server) updateChannel(c *gin.Context) {
	var in channelPatchJSON
	if !bind(c, &in) {
		return
	}
	errs := checkDelivery(nil, in.RateLimit, in.Endpoint)
	if in.HorizonDays != nil && (*in.HorizonDays < 1 || *in.HorizonDays > inventory.MaxRangeNights) {
		errs = append(errs, newFieldError("horizon_days", "must be between 1 and 1100"))
	}
	if in.Name != nil && *in.Name == "" {
		errs = append(errs, newFieldError("name", "must not be empty"))
	}
	var o otaSettingsJSON
	setPtr(&o.InboundAuth, in.InboundAuth)
	setPtr(&o.Envelope, in.Envelope)
	setPtr(&o.ARIMessage, in.ARIMessage)
	setPtr(&o.ARILevel, in.ARILevel)
	setPtr(&o.PullURL, in.PullURL)
	setPtr(&o.PullInterval, in.PullInterval)
	setPtr(&o.PullModifyURL, in.PullModifyURL)
	errs = o.check(errs)
	if len(errs) > 0 {
		invalid(c, errs...)
		return
	}
	ch, err := s.store.UpdateChannel(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), inventory.ChannelPatch(in), apiKey(c).Actor())
	if err != nil {
		s.fail(c, err, "")
		return
	}
	// A horizon changed (raised, say) leaves the channel without the nights
	// it now covers until the nightly resync (lowered, the resync closes the
	// nights beyond it), another message or level without any value in its
	// new form (per rate, items it was never sent), and another hotel code
	// another hotel at the channel, told nothing yet: they are sent now.
	if (in.Endpoint != nil && *in.Endpoint != "") || (in.PullURL != nil && *in.PullURL != "") || (in.Enabled != nil && *in.Enabled) ||
		in.HorizonDays != nil || in.ARIMessage != nil || in.ARILevel != nil || in.HotelCode != nil {
		s.catchUp(c.Request.Context(), apiProperty(c).Code, ch.Code)
	}
	c.JSON(http.StatusOK, toChannelJSON(ch))
}

// deleteMapping removes the mapping of ?channel_room= (and channel_rate=).
func (s *Server) deleteMapping(c *gin.Context) {
	room := c.Query("channel_room")
	if room == "" {
		invalid(c, newFieldError("channel_room", "query parameter channel_room is required"))
		return
	}
	if _, err := s.store.DeleteMapping(c.Request.Context(), apiProperty(c).Code, c.Param("channel"), room, c.Query("channel_rate"), apiKey(c).Actor()); err != nil {
		s.fail(c, err, "")
		return
	}
	// A room the channel is no longer sent is closed there (sync_closures),
	// and at the rate level a room left mapped without a rate becomes an
	// item of its own: both go with the channel's next delivery, now.
	s.catchUp(c.Request.Context(), apiProperty(c).Code, c.Param("channel"))
	c.Status(http.StatusNoContent)
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
