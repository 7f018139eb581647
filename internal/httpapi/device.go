package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
)

// deviceCredential parses "Authorization: Device <id>:<secret>".
func deviceCredential(r *http.Request) (herald.DeviceCredential, bool) {
	scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, herald.DeviceAuthScheme) {
		return herald.DeviceCredential{}, false
	}
	id, secret, ok := strings.Cut(strings.TrimSpace(rest), ":")
	if !ok || id == "" || secret == "" {
		return herald.DeviceCredential{}, false
	}
	return herald.DeviceCredential{ID: id, Secret: secret}, true
}

// hubError answers an error of a device call.
func (a *API) hubError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, dispatch.ErrUnauthorized):
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "unknown device or wrong device secret: register again without a device credential")
	case errors.Is(err, dispatch.ErrUnknownApp):
		writeStatus(w, http.StatusForbidden, "PERMISSION_DENIED", "unknown app key: use the key printed by `herald app create`")
	case errors.Is(err, dispatch.ErrNotYourToken):
		writeStatus(w, http.StatusForbidden, "PERMISSION_DENIED", "this registration token belongs to another device")
	case errors.Is(err, dispatch.ErrUnregistered):
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "registration token not found or already deleted")
	default:
		a.storeError(w, err, "registration")
	}
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	appKey := r.Header.Get(herald.AppKeyHeader)
	if appKey == "" {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "missing "+herald.AppKeyHeader+" header: send the app key printed by `herald app create`")
		return
	}
	var cred *herald.DeviceCredential
	if r.Header.Get("Authorization") != "" {
		c, ok := deviceCredential(r)
		if !ok {
			writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "malformed device credential: want Authorization: Device <id>:<secret>")
			return
		}
		cred = &c
	}
	var req registerRequest
	if err := readJSON(w, r, &req); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body: "+err.Error())
		return
	}
	addr, err := req.address()
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	resp, err := a.Hub.RegisterAt(r.Context(), appKey, cred, addr)
	if err != nil {
		a.hubError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// refresh is POST /device/v1/registrations/{token}:refresh.
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("action"), ":refresh")
	if !ok || token == "" {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: POST "+r.URL.Path+" (did you mean .../{token}:refresh?)")
		return
	}
	cred, ok := deviceCredential(r)
	if !ok {
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "missing device credential: want Authorization: Device <id>:<secret>")
		return
	}
	resp, err := a.Hub.Refresh(r.Context(), cred, token)
	if err != nil {
		a.hubError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) deleteRegistration(w http.ResponseWriter, r *http.Request) {
	cred, ok := deviceCredential(r)
	if !ok {
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "missing device credential: want Authorization: Device <id>:<secret>")
		return
	}
	if err := a.Hub.Delete(r.Context(), cred, r.PathValue("token")); err != nil {
		a.hubError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
