package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/dispatch"
)

// createPushEndpoint is POST /device/v1/registrations/{token}/webpush: a
// new Web Push push endpoint for a herald registration of the device,
// optionally restricted to one application server's VAPID key.
func (a *API) createPushEndpoint(w http.ResponseWriter, r *http.Request) {
	cred, ok := deviceCredential(r)
	if !ok {
		writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED", "missing device credential: want Authorization: Device <id>:<secret>")
		return
	}
	var req herald.WebPushRequest
	if err := readJSON(w, r, &req); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "invalid JSON body: "+err.Error())
		return
	}
	var key []byte
	if req.ApplicationServerKey != "" {
		var err error
		if key, err = parseAppServerKey(req.ApplicationServerKey); err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "application_server_key: "+err.Error())
			return
		}
	}
	e, err := a.Hub.CreatePushEndpoint(r.Context(), cred, r.PathValue("token"), key)
	if errors.Is(err, dispatch.ErrNotHeraldPlatform) {
		writeStatus(w, http.StatusBadRequest, "FAILED_PRECONDITION",
			"push endpoints deliver over Herald's own connection; this registration is of a vendor platform")
		return
	}
	if err != nil {
		a.hubError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, herald.WebPushResponse{Endpoint: a.pushEndpointURL(r, e.ID)})
}

// pushEndpointURL is the public URL of push endpoint id.
func (a *API) pushEndpointURL(r *http.Request, id string) string {
	return strings.TrimSuffix(a.publicURL(r), "/") + herald.PathPush + id
}

// parseAppServerKey decodes a VAPID public key as browsers take it for
// applicationServerKey: a 65-byte uncompressed P-256 point, base64url
// (padding and the standard alphabet tolerated, as for VAPID's k).
func parseAppServerKey(s string) ([]byte, error) {
	s = strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(s, "="))
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64url")
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b); err != nil {
		return nil, errors.New("not an uncompressed P-256 public key (65 bytes, starting 0x04)")
	}
	return b, nil
}
