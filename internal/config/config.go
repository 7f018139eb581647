// Package config holds the server's settings, their defaults and their
// validation. Precedence: defaults < HERALD_* environment < flags (the CLI
// applies the last two).
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is what `herald serve` runs with. Every field documents its default.
type Config struct {
	// Listen is the TCP address of the one HTTP listener. Default ":8080".
	// Env HERALD_LISTEN, flag --listen.
	Listen string
	// DataDir holds the embedded store, the server key and the admin
	// credential. Default "./herald-data". Env HERALD_DATA, flag --data.
	DataDir string
	// PublicURL is the URL app servers and devices reach this server at,
	// written into service-account files as token_uri. Default: derived
	// from each admin request (scheme and Host). Env HERALD_PUBLIC_URL.
	PublicURL string
	// TLSCert and TLSKey are the PEM files of the server's certificate
	// (chain) and private key. Both set: the listener serves https only,
	// HTTP/2 negotiated by ALPN (HTTP/1.1 for WebSocket upgrades). Both
	// empty (the default): plain HTTP/1.1, and HTTP/2 with prior knowledge
	// (h2c). Env HERALD_TLS_CERT / HERALD_TLS_KEY, flags --tls-cert /
	// --tls-key.
	TLSCert, TLSKey string
	// PingInterval is announced to devices in the welcome frame; a device
	// silent for twice as long is disconnected. Default 30s.
	PingInterval time.Duration
	// TopicAckHold is announced to devices in the welcome frame: how long
	// they may hold the acks of topic and condition messages, sending them
	// with their next ping if that comes first. Longer means fewer ack
	// frames (one per device per hold instead of one per message) and
	// delivered counts of topic messages that lag up to this long; 0: acked
	// like token messages. Default 30s (the ping interval).
	TopicAckHold time.Duration
	// NormalBatchWindow is how long normal-priority messages to a device
	// whose app is in the background may be held to be sent together with
	// later ones (a high-priority message flushes them at once). 0 sends
	// at once. Default 0.
	NormalBatchWindow time.Duration
	// MaxPending is the most non-collapsible messages pending per
	// registration before they are dropped (FCM: 100). Default 100.
	MaxPending int
	// MaxCollapseKeys is the most collapse keys pending per registration
	// (FCM: 4). Default 4.
	MaxCollapseKeys int
	// PurgeInterval is how often expired messages are purged. Default 1m.
	PurgeInterval time.Duration
	// ShutdownTimeout bounds a graceful shutdown. Default 10s.
	ShutdownTimeout time.Duration
	// PprofListen is the TCP address of a second listener serving Go's
	// profiles (net/http/pprof under /debug/pprof/), for operators
	// chasing CPU or memory; keep it on a loopback or private address.
	// "" (the default): no such listener. Env HERALD_PPROF_LISTEN, flag
	// --pprof-listen.
	PprofListen string
	// SendQueue is the per-connection queue of frames waiting to be
	// written; a device that falls further behind is served from the store
	// instead. Default 256.
	SendQueue int
	// StaleAfter is how long a device may stay unconnected before its
	// registration tokens expire, as FCM's do after 270 days of
	// inactivity: a send to such a token answers UNREGISTERED (404) and
	// deletes it, and the device is told so when it connects again. 0:
	// tokens never expire. Default 6480h (270 days). Env
	// HERALD_STALE_AFTER, flag --stale-after.
	StaleAfter time.Duration
	// RefreshGrace is how long a token replaced by a refresh still
	// accepts sends, which are delivered to the device with its new
	// token; later sends answer UNREGISTERED. 0: none. Default 1h. Env
	// HERALD_REFRESH_GRACE, flag --refresh-grace.
	RefreshGrace time.Duration
	// StatusRetention is how long a message's status stays readable
	// (GET …/messages/{id}) after the message ended: delivered, collapsed,
	// dropped or failed, or expired (a topic message ends at its expiry).
	// Default 168h (7 days). Env HERALD_STATUS_RETENTION, flag
	// --status-retention.
	StatusRetention time.Duration
	// ProjectQuota is the most messages a project may send per minute
	// (FCM's default quota: 600,000). Every authenticated send request
	// counts (validate_only and those refused with a 4xx included) except
	// those answered 429 or 5xx. 0: unlimited. Default 600000. Env
	// HERALD_PROJECT_QUOTA, flag --project-quota.
	ProjectQuota int
	// DeviceRateMinute and DeviceRateHour are the most messages per
	// registration token per minute and per hour (FCM: 240 and 5,000).
	// validate_only sends do not count. 0: unlimited. Defaults 240 and
	// 5000. Env HERALD_DEVICE_RATE_MINUTE / HERALD_DEVICE_RATE_HOUR, flags
	// --device-rate-minute / --device-rate-hour.
	DeviceRateMinute, DeviceRateHour int
	// MaxSendsInFlight is the most sends waiting for the durable write at
	// once; more are refused at once with 503 UNAVAILABLE and Retry-After:
	// 1 (backpressure). 0: unlimited. Default 4096. Env
	// HERALD_MAX_SENDS_IN_FLIGHT, flag --max-sends-in-flight.
	MaxSendsInFlight int
	// VendorCA is a PEM file of certificate authorities to trust, besides
	// the system's, for TLS to the vendors' push services (APNs, FCM, the
	// browsers' Web Push services): a TLS-inspecting proxy's, or local
	// test servers'. Default: the system's only. Env HERALD_VENDOR_CA,
	// flag --vendor-ca.
	VendorCA string
	// APNsURL and APNsSandboxURL are the base URLs of the APNs provider
	// API for production and sandbox (development) devices. Defaults
	// https://api.push.apple.com and https://api.sandbox.push.apple.com.
	// Env HERALD_APNS_URL / HERALD_APNS_SANDBOX_URL, flags --apns-url /
	// --apns-sandbox-url.
	APNsURL, APNsSandboxURL string
	// FCMURL is the base URL of the FCM HTTP v1 API that messages to
	// registrations of platform fcm are relayed to. Default
	// https://fcm.googleapis.com. Env HERALD_FCM_URL, flag --fcm-url.
	FCMURL string
	// RelayWorkers is how many vendor calls may run at once per platform
	// (webpush, apns, fcm); one platform's outage never holds another's.
	// Default 8. Env HERALD_RELAY_WORKERS, flag --relay-workers.
	RelayWorkers int
	// RelayMinBackoff and RelayMaxBackoff bound the wait before the relay
	// retries a vendor's transient failure (429, 5xx, network): it doubles
	// from the first to the second with every failure in a row, with
	// jitter, and is never shorter than the vendor's Retry-After. Defaults
	// 1s and 5m. Not flags: tests shorten them.
	RelayMinBackoff, RelayMaxBackoff time.Duration
	// Clock returns the current time for message expiry; nil means
	// time.Now. Tests inject a clock they can move.
	Clock func() time.Time
}

// maxTopicAckHold bounds Config.TopicAckHold: delivered counts of topic
// messages lag up to the hold.
const maxTopicAckHold = 10 * time.Minute

// Default returns the defaults.
func Default() Config {
	return Config{
		Listen:          ":8080",
		DataDir:         "./herald-data",
		PingInterval:    30 * time.Second,
		TopicAckHold:    30 * time.Second,
		MaxPending:      100,
		MaxCollapseKeys: 4,
		PurgeInterval:   time.Minute,
		ShutdownTimeout: 10 * time.Second,
		SendQueue:       256,
		StaleAfter:      270 * 24 * time.Hour,
		RefreshGrace:    time.Hour,
		StatusRetention: 7 * 24 * time.Hour,

		ProjectQuota:     600_000,
		DeviceRateMinute: 240,
		DeviceRateHour:   5000,
		MaxSendsInFlight: 4096,

		APNsURL:        "https://api.push.apple.com",
		APNsSandboxURL: "https://api.sandbox.push.apple.com",
		FCMURL:         "https://fcm.googleapis.com",
		RelayWorkers:   8,

		RelayMinBackoff: time.Second,
		RelayMaxBackoff: 5 * time.Minute,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("listen address is empty (set --listen, e.g. :8080)"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory is empty (set --data)"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public URL %q must be an absolute http(s) URL such as https://push.example.com", c.PublicURL))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key (set --tls-cert and --tls-key, or neither)"))
	}
	if c.PingInterval < time.Second {
		errs = append(errs, fmt.Errorf("ping interval %v is below 1s", c.PingInterval))
	}
	if c.TopicAckHold < 0 || c.TopicAckHold > maxTopicAckHold {
		errs = append(errs, fmt.Errorf("topic ack hold %v must be between 0 and %v", c.TopicAckHold, maxTopicAckHold))
	}
	if c.NormalBatchWindow < 0 {
		errs = append(errs, fmt.Errorf("normal batch window %v is negative", c.NormalBatchWindow))
	}
	if c.MaxPending < 1 {
		errs = append(errs, fmt.Errorf("max pending %d must be at least 1", c.MaxPending))
	}
	if c.MaxCollapseKeys < 1 {
		errs = append(errs, fmt.Errorf("max collapse keys %d must be at least 1", c.MaxCollapseKeys))
	}
	if c.PurgeInterval <= 0 {
		errs = append(errs, fmt.Errorf("purge interval %v must be positive", c.PurgeInterval))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %v must be positive", c.ShutdownTimeout))
	}
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("send queue %d must be at least 1", c.SendQueue))
	}
	for _, l := range []struct {
		name string
		n    int
	}{
		{"project quota", c.ProjectQuota},
		{"device rate per minute", c.DeviceRateMinute},
		{"device rate per hour", c.DeviceRateHour},
		{"max sends in flight", c.MaxSendsInFlight},
	} {
		if l.n < 0 {
			errs = append(errs, fmt.Errorf("%s %d is negative (0 means unlimited)", l.name, l.n))
		}
	}
	if c.StaleAfter != 0 && c.StaleAfter < 24*time.Hour {
		errs = append(errs, fmt.Errorf("stale-after %v must be 0 (never) or at least 24h: last-seen times are recorded about hourly", c.StaleAfter))
	}
	if c.RefreshGrace < 0 {
		errs = append(errs, fmt.Errorf("refresh grace %v is negative", c.RefreshGrace))
	}
	for _, v := range []struct{ name, url string }{
		{"APNs URL", c.APNsURL}, {"APNs sandbox URL", c.APNsSandboxURL}, {"FCM URL", c.FCMURL},
	} {
		u, err := url.Parse(v.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q must be an absolute http(s) URL", v.name, v.url))
		}
	}
	if c.RelayWorkers < 1 {
		errs = append(errs, fmt.Errorf("relay workers %d must be at least 1", c.RelayWorkers))
	}
	if c.RelayMinBackoff <= 0 || c.RelayMaxBackoff < c.RelayMinBackoff {
		errs = append(errs, fmt.Errorf("relay backoff %v to %v: want 0 < min <= max", c.RelayMinBackoff, c.RelayMaxBackoff))
	}
	if c.StatusRetention <= 0 {
		errs = append(errs, fmt.Errorf("status retention %v must be positive", c.StatusRetention))
	}
	return errors.Join(errs...)
}
