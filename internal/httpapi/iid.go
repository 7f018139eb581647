package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/dispatch"
	"github.com/heraldpush/herald/internal/store"
)

// iidPlatform is the platform the Instance ID info answers for Herald
// registrations (FCM answers ANDROID, IOS or CHROME).
const iidPlatform = "HERALD"

// iidInfoResponse is the Instance ID API's app-instance info.
type iidInfoResponse struct {
	Application        string `json:"application"`
	AuthorizedEntity   string `json:"authorizedEntity"`
	ApplicationVersion string `json:"applicationVersion"`
	Platform           string `json:"platform"`
	// With details=true:
	ConnectDate string  `json:"connectDate,omitempty"`
	Rel         *iidRel `json:"rel,omitempty"`
}

type iidRel struct {
	// Topics are the registration's subscriptions, by name.
	Topics map[string]iidTopic `json:"topics"`
}

type iidTopic struct {
	AddDate string `json:"addDate"`
}

// iidError writes the Instance ID API's error shape, {"error":"<CODE>"}.
func iidError(w http.ResponseWriter, code int, status string) {
	writeJSON(w, code, map[string]string{"error": status})
}

// iidInfo is GET /iid/info/{token}[?details=true]: what the token is for,
// for an access token of the token's project or the admin credential.
func (a *API) iidInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bearer, ok := auth.BearerToken(r)
	if !ok {
		iidError(w, http.StatusUnauthorized, "UNAUTHENTICATED")
		return
	}
	project := "" // any, for the admin credential
	if !a.Admin.Check(bearer) {
		p, err := a.Authority.Verify(ctx, bearer)
		if err != nil {
			iidError(w, http.StatusUnauthorized, "UNAUTHENTICATED")
			return
		}
		project = p.ProjectID
	}
	details := false
	if v := r.URL.Query().Get("details"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			iidError(w, http.StatusBadRequest, "INVALID_ARGUMENT")
			return
		}
		details = b
	}
	reg, err := a.Hub.Lookup(ctx, r.PathValue("token"))
	switch {
	case errors.Is(err, dispatch.ErrUnregistered):
		iidError(w, http.StatusNotFound, "NOT_FOUND")
		return
	case errors.Is(err, store.ErrClosed):
		iidError(w, http.StatusServiceUnavailable, "UNAVAILABLE")
		return
	case err != nil:
		a.Logger.Error("looking up registration", "err", err)
		iidError(w, http.StatusInternalServerError, "INTERNAL")
		return
	case project != "" && reg.ProjectID != project:
		iidError(w, http.StatusForbidden, "PERMISSION_DENIED")
		return
	}
	application := reg.AppKey
	if app, err := a.Store.App(ctx, reg.AppKey); err == nil && app.Name != "" {
		application = app.Name
	}
	resp := iidInfoResponse{
		Application: application, AuthorizedEntity: reg.ProjectID, Platform: iidPlatformOf(reg),
	}
	if details {
		resp.ConnectDate = reg.Seen().UTC().Format(time.DateOnly)
		subs, err := a.Hub.Subscriptions(ctx, reg.Token)
		if err != nil {
			a.Logger.Error("listing subscriptions", "err", err)
			iidError(w, http.StatusInternalServerError, "INTERNAL")
			return
		}
		resp.Rel = &iidRel{Topics: make(map[string]iidTopic, len(subs))}
		for _, s := range subs {
			resp.Rel.Topics[s.Topic] = iidTopic{AddDate: s.CreatedAt.UTC().Format(time.DateOnly)}
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
