// Package httpapi serves Herald's HTTP surfaces on one mux: the FCM HTTP v1
// send API, topic management (Instance ID and topicSubscriptions), the
// OAuth2 token endpoint, the admin API, the device API and connection
// endpoint, and the operations endpoints. Routes match on the
// path only: SDKs redirected to Herald keep Google's Host header.
package httpapi

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/fcm"
	"github.com/heraldpush/herald/internal/metrics"
	"github.com/heraldpush/herald/internal/quota"
	"github.com/heraldpush/herald/internal/store"
)

// API holds what the handlers need.
type API struct {
	Store     store.Store
	Hub       *dispatch.Hub
	Authority *auth.Authority
	Admin     auth.Admin
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	// Connect serves device WebSocket connections (the gateway).
	Connect http.Handler
	// PublicURL is written into service-account files; "" derives it from
	// the admin request.
	PublicURL string
	// Ready reports whether the server accepts work (for /readyz).
	Ready *atomic.Bool
	// Limiter applies the project send quota; nil limits nothing. The
	// dispatcher applies the per-device limits and the in-flight bound.
	Limiter *quota.Limiter

	credMu sync.Mutex // serialises updates of vendor credentials
}

// maxBodyBytes bounds request bodies; sends are limited further by FCM's
// 4096-byte payload rule.
const maxBodyBytes = 64 << 10

// Handler returns the mux with every route.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("POST /v1/projects/{project}/messages:send", a.send)
	mux.HandleFunc("GET /v1/projects/{project}/messages/{id}", a.messageStatus)
	mux.HandleFunc("GET /iid/info/{token}", a.iidInfo)
	mux.Handle("POST "+auth.TokenPath, a.Authority)

	mux.HandleFunc("POST /admin/v1/projects", a.admin(a.createProject))
	mux.HandleFunc("GET /admin/v1/projects", a.admin(a.listProjects))
	mux.HandleFunc("POST /admin/v1/projects/{project}/apps", a.admin(a.createApp))
	mux.HandleFunc("GET /admin/v1/projects/{project}/apps", a.admin(a.listApps))
	mux.HandleFunc("POST /admin/v1/projects/{project}/keys", a.admin(a.createKey))
	mux.HandleFunc("GET /admin/v1/projects/{project}/keys", a.admin(a.listKeys))
	mux.HandleFunc("DELETE /admin/v1/projects/{project}/keys/{key}", a.admin(a.revokeKey))
	mux.HandleFunc("GET /admin/v1/projects/{project}/credentials", a.admin(a.getCredentials))
	mux.HandleFunc("GET /admin/v1/projects/{project}/credentials/{kind}", a.admin(a.getCredential))
	mux.HandleFunc("PUT /admin/v1/projects/{project}/credentials/{kind}", a.admin(a.putCredential))
	mux.HandleFunc("DELETE /admin/v1/projects/{project}/credentials/{kind}", a.admin(a.deleteCredential))
	mux.HandleFunc("POST /admin/v1/projects/{project}/credentials/vapid", a.admin(a.createVAPID))
	mux.HandleFunc("GET /admin/v1/projects/{project}/messages/{id}", a.admin(a.adminMessageStatus))

	mux.HandleFunc("POST "+herald.PathRegister, a.register)
	mux.HandleFunc("POST "+herald.PathRegistration+"/{action}", a.refresh)
	mux.HandleFunc("DELETE "+herald.PathRegistration+"/{token}", a.deleteRegistration)
	mux.Handle("GET "+herald.PathConnect, a.Connect)
	mux.HandleFunc("POST "+herald.PathRegistration+"/{token}"+herald.PathWebPush, a.createPushEndpoint)
	mux.HandleFunc("POST "+herald.PathPush+"{id}", a.push)
	mux.HandleFunc("GET "+herald.PathPush+"{id}", a.pushDiscovery)
	mux.HandleFunc(herald.PathPush+"{id}", pushMethodNotAllowed)
	mux.HandleFunc(herald.PathPushMessage+"{id}", pushMessage)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.Ready.Load() {
			writeStatus(w, http.StatusServiceUnavailable, "UNAVAILABLE", "not ready: starting or shutting down")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", a.Metrics.Handler())

	mux.HandleFunc("POST /iid/v1:batchAdd", a.iidBatch(true))
	mux.HandleFunc("POST /iid/v1:batchRemove", a.iidBatch(false))
	mux.HandleFunc("POST /v1/projects/{project}/registrations/{token}/topicSubscriptions", a.createTopicSubscription)
	mux.HandleFunc("DELETE /v1/projects/{project}/registrations/{token}/topicSubscriptions/{topic}", a.deleteTopicSubscription)
	mux.HandleFunc("POST "+herald.PathRegistration+"/{token}"+herald.PathTopics+"/{topic}", a.deviceTopic(true))
	mux.HandleFunc("DELETE "+herald.PathRegistration+"/{token}"+herald.PathTopics+"/{topic}", a.deviceTopic(false))
	// get, list and patch of topicSubscriptions are not served: UNIMPLEMENTED,
	// never NOT_FOUND, which the SDKs would read as "this registration
	// token is gone" and make apps delete valid tokens.
	for _, p := range []string{
		"/v1/projects/{project}/registrations/{token}/topicSubscriptions",
		"/v1/projects/{project}/registrations/{token}/topicSubscriptions/{topic}",
	} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			fcm.WriteError(w, &fcm.Error{HTTPStatus: http.StatusNotImplemented, Status: "UNIMPLEMENTED",
				Message: "Herald serves create (POST) and delete (DELETE) of topicSubscriptions only."})
		})
	}

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path+" (see docs/api.md)")
	})
	return mux
}
