package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/auth"
	"github.com/heraldpush/herald/internal/store"
	"github.com/heraldpush/herald/internal/webpush"
)

// Vendor credentials of a project (admin API, docs/api.md): the VAPID key
// Herald generates for Web Push, the APNs token signing key (.p8) and the
// service account of the project's own Firebase project. The store keeps
// them encrypted; answers never contain a private key.

// Credential kinds, the last path element.
const (
	credVAPID = "vapid"
	credAPNs  = "apns"
	credFCM   = "fcm"
)

// appleIDPattern is the shape of an APNs key ID and team ID.
var appleIDPattern = regexp.MustCompile(`^[A-Z0-9]{10}$`)

// maxServiceAccount bounds a service-account file.
const maxServiceAccount = 16 << 10

// credentialsView is what the admin API shows of a project's credentials.
type credentialsView struct {
	ProjectID string     `json:"project_id"`
	VAPID     *vapidView `json:"vapid,omitempty"`
	APNs      *apnsView  `json:"apns,omitempty"`
	FCM       *fcmView   `json:"fcm,omitempty"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

type vapidView struct {
	PublicKey string `json:"public_key"`
	Subject   string `json:"subject"`
}

type apnsView struct {
	KeyID  string `json:"key_id"`
	TeamID string `json:"team_id"`
}

type fcmView struct {
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
}

func viewCredentials(c store.Credentials) credentialsView {
	v := credentialsView{ProjectID: c.ProjectID, UpdatedAt: c.UpdatedAt}
	if c.VAPID != nil {
		v.VAPID = &vapidView{PublicKey: c.VAPID.PublicKey, Subject: c.VAPID.Subject}
	}
	if c.APNs != nil {
		v.APNs = &apnsView{KeyID: c.APNs.KeyID, TeamID: c.APNs.TeamID}
	}
	if c.FCM != nil {
		var sa auth.ServiceAccount
		_ = json.Unmarshal(c.FCM.ServiceAccountJSON, &sa) // validated when stored
		v.FCM = &fcmView{ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail}
	}
	return v
}

// projectCredentials returns the project's credentials (empty ones when it
// has none); it answers the error itself and returns false.
func (a *API) projectCredentials(w http.ResponseWriter, r *http.Request) (store.Credentials, bool) {
	project := r.PathValue("project")
	if _, err := a.Store.Project(r.Context(), project); err != nil {
		a.storeError(w, err, "project "+quote(project))
		return store.Credentials{}, false
	}
	c, err := a.Store.Credentials(r.Context(), project)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credentials{ProjectID: project}, true
	}
	if err != nil {
		a.storeError(w, err, "credentials")
		return store.Credentials{}, false
	}
	return c, true
}

// updateCredentials applies change to the project's credentials and
// stores them; change answers the request's errors itself and returns
// false. Updates of one server are serialised.
func (a *API) updateCredentials(w http.ResponseWriter, r *http.Request, change func(*store.Credentials) bool) (store.Credentials, bool) {
	a.credMu.Lock()
	defer a.credMu.Unlock()
	c, ok := a.projectCredentials(w, r)
	if !ok || !change(&c) {
		return store.Credentials{}, false
	}
	c.UpdatedAt = time.Now().UTC()
	if err := a.Store.PutCredentials(r.Context(), c); err != nil {
		a.storeError(w, err, "project "+quote(c.ProjectID))
		return store.Credentials{}, false
	}
	return c, true
}

// getCredentials is GET …/credentials: every kind the project has.
func (a *API) getCredentials(w http.ResponseWriter, r *http.Request) {
	c, ok := a.projectCredentials(w, r)
	if ok {
		writeJSON(w, http.StatusOK, viewCredentials(c))
	}
}

// getCredential is GET …/credentials/{kind}.
func (a *API) getCredential(w http.ResponseWriter, r *http.Request) {
	kind, ok := credentialKind(w, r)
	if !ok {
		return
	}
	c, ok := a.projectCredentials(w, r)
	if !ok {
		return
	}
	v := viewCredentials(c)
	var out any
	switch {
	case kind == credVAPID && v.VAPID != nil:
		out = v.VAPID
	case kind == credAPNs && v.APNs != nil:
		out = v.APNs
	case kind == credFCM && v.FCM != nil:
		out = v.FCM
	default:
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "project "+quote(c.ProjectID)+" has no "+kind+" credentials")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteCredential is DELETE …/credentials/{kind}.
func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request) {
	kind, ok := credentialKind(w, r)
	if !ok {
		return
	}
	_, ok = a.updateCredentials(w, r, func(c *store.Credentials) bool {
		had := false
		switch kind {
		case credVAPID:
			had, c.VAPID = c.VAPID != nil, nil
		case credAPNs:
			had, c.APNs = c.APNs != nil, nil
		case credFCM:
			had, c.FCM = c.FCM != nil, nil
		}
		if !had {
			writeStatus(w, http.StatusNotFound, "NOT_FOUND", "project "+quote(c.ProjectID)+" has no "+kind+" credentials")
		}
		return had
	})
	if ok {
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

// putCredential is PUT …/credentials/{kind}: the APNs key, the FCM
// service account, or an existing VAPID key pair to import.
func (a *API) putCredential(w http.ResponseWriter, r *http.Request) {
	kind, ok := credentialKind(w, r)
	if !ok {
		return
	}
	var apply func(*store.Credentials)
	switch kind {
	case credAPNs:
		var req struct {
			KeyID  string `json:"key_id"`
			TeamID string `json:"team_id"`
			KeyPEM string `json:"key_pem"`
		}
		if !readBody(w, r, &req) {
			return
		}
		if err := checkAPNsKey(req.KeyID, req.TeamID, req.KeyPEM); err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		}
		apply = func(c *store.Credentials) {
			c.APNs = &store.APNsCredentials{KeyID: req.KeyID, TeamID: req.TeamID, KeyPEM: req.KeyPEM}
		}
	case credFCM:
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxServiceAccount))
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body: "+err.Error())
			return
		}
		if err := checkServiceAccount(raw); err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		}
		apply = func(c *store.Credentials) { c.FCM = &store.FCMCredentials{ServiceAccountJSON: raw} }
	case credVAPID:
		var req struct {
			PublicKey  string `json:"public_key"`
			PrivateKey string `json:"private_key"`
			Subject    string `json:"subject"`
		}
		if !readBody(w, r, &req) {
			return
		}
		v, err := importVAPID(req.PublicKey, req.PrivateKey, req.Subject)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		}
		apply = func(c *store.Credentials) { c.VAPID = v }
	}
	c, ok := a.updateCredentials(w, r, func(c *store.Credentials) bool { apply(c); return true })
	if ok {
		writeJSON(w, http.StatusOK, viewCredentials(c))
	}
}

// createVAPID is POST …/credentials/vapid {"subject":"mailto:…"}: Herald
// generates the project's VAPID key and answers its public key, the
// applicationServerKey of the web app's pushManager.subscribe. A project
// that has one gets 409 unless the body says "replace": true (browsers'
// subscriptions made with the old key then stop working).
func (a *API) createVAPID(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Subject string `json:"subject"`
		Replace bool   `json:"replace"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if err := checkVAPIDSubject(req.Subject); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	key, err := webpush.GenerateVAPIDKey()
	if err == nil {
		var v store.VAPIDCredentials
		v.PublicKey, v.PrivateKey, err = webpush.EncodeVAPIDKey(key)
		v.Subject = req.Subject
		if err == nil {
			c, ok := a.updateCredentials(w, r, func(c *store.Credentials) bool {
				if c.VAPID != nil && !req.Replace {
					writeStatus(w, http.StatusConflict, "ALREADY_EXISTS", "project "+quote(c.ProjectID)+
						" has a VAPID key already (public key "+c.VAPID.PublicKey+"); send \"replace\": true to make a new one, which invalidates the browsers' subscriptions made with the old one")
					return false
				}
				c.VAPID = &v
				return true
			})
			if ok {
				writeJSON(w, http.StatusOK, viewCredentials(c).VAPID)
			}
			return
		}
	}
	a.Logger.Error("generating a VAPID key", "err", err)
	writeStatus(w, http.StatusInternalServerError, "INTERNAL", "could not generate the key; see the server log")
}

// credentialKind reads {kind}; it answers 404 for an unknown one.
func credentialKind(w http.ResponseWriter, r *http.Request) (string, bool) {
	switch kind := r.PathValue("kind"); kind {
	case credVAPID, credAPNs, credFCM:
		return kind, true
	default:
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "unknown credential kind "+quote(kind)+": want vapid, apns or fcm")
		return "", false
	}
}

// readBody decodes a JSON body strictly; it answers 400 itself.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := readJSON(w, r, v); err != nil {
		writeStatus(w, http.StatusBadRequest, "INVALID_ARGUMENT", "bad request body: "+err.Error())
		return false
	}
	return true
}

// checkAPNsKey validates an APNs token signing key: the IDs Apple shows
// and a PKCS #8 EC P-256 private key in PEM (the .p8 file).
func checkAPNsKey(keyID, teamID, keyPEM string) error {
	if !appleIDPattern.MatchString(keyID) {
		return badField("key_id", "want the 10-character Key ID Apple shows for the key (upper-case letters and digits)")
	}
	if !appleIDPattern.MatchString(teamID) {
		return badField("team_id", "want the 10-character Team ID of the Apple developer account")
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return badField("key_pem", "want the .p8 file's content: a PEM block \"PRIVATE KEY\"")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return badField("key_pem", "not a PKCS #8 private key")
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return badField("key_pem", "want an EC P-256 key (APNs signs ES256)")
	}
	return nil
}

// checkServiceAccount validates a Google service-account file.
func checkServiceAccount(raw []byte) error {
	var sa auth.ServiceAccount
	if err := json.Unmarshal(raw, &sa); err != nil {
		return badField("service_account", "not a JSON object: %v", err)
	}
	switch {
	case sa.Type != "service_account":
		return badField("type", "want \"service_account\" (the JSON key file of a Google service account)")
	case sa.ProjectID == "":
		return badField("project_id", "missing: the Firebase project's ID")
	case sa.ClientEmail == "" || !strings.Contains(sa.ClientEmail, "@"):
		return badField("client_email", "missing or not an e-mail address")
	case sa.PrivateKeyID == "":
		return badField("private_key_id", "missing")
	}
	if u, err := url.Parse(sa.TokenURI); err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
		return badField("token_uri", "want the https URL of Google's token endpoint")
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return badField("private_key", "not a PEM private key")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		err = errors.New("unexpected PEM type")
	}
	if err != nil {
		return badField("private_key", "not an RSA private key in PEM")
	}
	if _, ok := key.(*rsa.PrivateKey); !ok {
		return badField("private_key", "want an RSA key (Google signs the token request RS256)")
	}
	return nil
}

func checkVAPIDSubject(subject string) error {
	u, err := url.Parse(subject)
	if err != nil || !(u.Scheme == "mailto" && u.Opaque != "" || u.Scheme == "https" && u.Host != "") {
		return badField("subject", "want a contact for push services: mailto:you@example.com or an https URL")
	}
	return nil
}

// importVAPID validates an existing VAPID key pair (npm web-push's
// generate-vapid-keys format), for subscriptions already bound to it.
func importVAPID(public, private, subject string) (*store.VAPIDCredentials, error) {
	if err := checkVAPIDSubject(subject); err != nil {
		return nil, err
	}
	key, err := webpush.ParseVAPIDKey(private)
	if err != nil {
		return nil, badField("private_key", "want the 32-byte private key in base64url")
	}
	pub, priv, err := webpush.EncodeVAPIDKey(key)
	if err != nil {
		return nil, badField("private_key", "%v", err)
	}
	if public != "" && strings.TrimRight(public, "=") != pub {
		return nil, badField("public_key", "does not belong to private_key")
	}
	return &store.VAPIDCredentials{PublicKey: pub, PrivateKey: priv, Subject: subject}, nil
}
