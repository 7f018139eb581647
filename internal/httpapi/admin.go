package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/store"
)

// projectIDPattern is the shape of a project ID (as Firebase's: lower case,
// digits and hyphens, starting with a letter).
var projectIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// appKeyBytes is the size of an app key: public, but unguessable.
const appKeyBytes = 24

// admin wraps a handler with the admin credential check.
func (a *API) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := auth.BearerToken(r)
		if !ok || !a.Admin.Check(bearer) {
			writeStatus(w, http.StatusUnauthorized, "UNAUTHENTICATED",
				"admin credential missing or wrong: send Authorization: Bearer <the token in DATA/admin-token>")
			return
		}
		h(w, r)
	}
}

// storeError answers a store error of an admin or device call.
func (a *API) storeError(w http.ResponseWriter, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", what+" not found")
	case errors.Is(err, store.ErrExists):
		writeStatus(w, http.StatusConflict, "ALREADY_EXISTS", what+" already exists")
	case errors.Is(err, store.ErrClosed):
		writeStatus(w, http.StatusServiceUnavailable, "UNAVAILABLE", "server is shutting down; retry shortly")
	default:
		a.Logger.Error("store failure", "what", what, "err", err)
		writeStatus(w, http.StatusInternalServerError, "INTERNAL", "internal error; see the server log")
	}
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body: "+err.Error())
		return
	}
	if !projectIDPattern.MatchString(req.ID) {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"project id "+quote(req.ID)+" is invalid: use 2 to 63 lower-case letters, digits and hyphens, starting with a letter")
		return
	}
	p := store.Project{ID: req.ID, CreatedAt: time.Now().UTC()}
	if err := a.Store.CreateProject(r.Context(), p); err != nil {
		a.storeError(w, err, "project "+quote(req.ID))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.Store.Projects(r.Context())
	if err != nil {
		a.storeError(w, err, "projects")
		return
	}
	if ps == nil {
		ps = []store.Project{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body: "+err.Error())
		return
	}
	if len(req.Name) > 200 {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "app name is longer than 200 bytes")
		return
	}
	app := store.App{Key: auth.RandomToken(appKeyBytes), ProjectID: r.PathValue("project"), Name: req.Name, CreatedAt: time.Now().UTC()}
	if err := a.Store.CreateApp(r.Context(), app); err != nil {
		a.storeError(w, err, "project "+quote(app.ProjectID))
		return
	}
	writeJSON(w, http.StatusOK, app)
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	if _, err := a.Store.Project(r.Context(), project); err != nil {
		a.storeError(w, err, "project "+quote(project))
		return
	}
	apps, err := a.Store.Apps(r.Context(), project)
	if err != nil {
		a.storeError(w, err, "apps")
		return
	}
	if apps == nil {
		apps = []store.App{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

// keyView is a key as the admin API shows it (no key material).
type keyView struct {
	ID          string    `json:"id"`
	ClientEmail string    `json:"client_email"`
	CreatedAt   time.Time `json:"created_at"`
	Revoked     bool      `json:"revoked"`
}

func viewKey(k store.Key) keyView {
	return keyView{ID: k.ID, ClientEmail: k.ClientEmail, CreatedAt: k.CreatedAt, Revoked: k.Revoked}
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	if _, err := a.Store.Project(r.Context(), project); err != nil {
		a.storeError(w, err, "project "+quote(project))
		return
	}
	key, sa, err := auth.NewServiceAccount(project, a.publicURL(r)+auth.TokenPath, time.Now().UTC())
	if err != nil {
		a.Logger.Error("creating service account", "err", err)
		writeStatus(w, http.StatusInternalServerError, "INTERNAL", "could not create the key; see the server log")
		return
	}
	if err := a.Store.CreateKey(r.Context(), key); err != nil {
		a.storeError(w, err, "project "+quote(project))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": viewKey(key), "service_account": json.RawMessage(sa)})
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	if _, err := a.Store.Project(r.Context(), project); err != nil {
		a.storeError(w, err, "project "+quote(project))
		return
	}
	keys, err := a.Store.Keys(r.Context(), project)
	if err != nil {
		a.storeError(w, err, "keys")
		return
	}
	views := make([]keyView, 0, len(keys))
	for _, k := range keys {
		views = append(views, viewKey(k))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": views})
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	project, id := r.PathValue("project"), r.PathValue("key")
	k, err := a.Store.Key(r.Context(), id)
	if err == nil && k.ProjectID != project {
		err = store.ErrNotFound
	}
	if err == nil {
		err = a.Store.RevokeKey(r.Context(), id)
	}
	if err != nil {
		a.storeError(w, err, "key "+quote(id)+" of project "+quote(project))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// publicURL is the configured public URL, or the one the request came to.
func (a *API) publicURL(r *http.Request) string {
	if a.PublicURL != "" {
		return a.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
