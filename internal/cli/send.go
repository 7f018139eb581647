package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// cloudPlatformScope is the OAuth2 scope send asks for; Herald's token
// endpoint accepts it for the FCM API, as Google does.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// maxTTL is FCM's longest time to live.
const maxTTL = 28 * 24 * time.Hour

// sendRequest is an FCM HTTP v1 SendMessageRequest with the fields send sets.
type sendRequest struct {
	Message      fcmMessage `json:"message"`
	ValidateOnly bool       `json:"validate_only,omitempty"`
}

type fcmMessage struct {
	Token        string            `json:"token,omitempty"`
	Topic        string            `json:"topic,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Notification *fcmNotification  `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Android      *fcmAndroid       `json:"android,omitempty"`
}

type fcmNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

type fcmAndroid struct {
	TTL         string `json:"ttl,omitempty"`
	CollapseKey string `json:"collapse_key,omitempty"`
	Priority    string `json:"priority,omitempty"`
}

// keyValues is a repeatable KEY=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+kv[k])
	}
	return strings.Join(parts, ",")
}

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want KEY=VALUE")
	}
	if _, dup := kv[k]; dup {
		return fmt.Errorf("key %q given twice", k)
	}
	kv[k] = v
	return nil
}

// sendOptions is the parsed send command line.
type sendOptions struct {
	admin       adminFlags
	project     string
	credentials string
	request     sendRequest
	jsonOut     bool
	serverSet   bool // --server or HERALD_SERVER was given
}

// parseSend turns the send command line into options and the request.
func parseSend(env *Env, args []string) (sendOptions, error) {
	const name = "send"
	var (
		o                       sendOptions
		title, body, image      string
		token, topic, condition string
		collapseKey, priority   string
		ttl                     time.Duration
		data                    = keyValues{}
	)
	f := newFlagSet(name, "herald send (--token T | --topic T | --condition C) [flags]",
		"Send a message through the FCM HTTP v1 API of a Herald server and print its name.\n"+
			"With a service-account file (--credentials) it authenticates as an app server\n"+
			"does (OAuth2 JWT bearer to the file's token_uri), takes the project from the file\n"+
			"and, without --server, the server from the token_uri. Otherwise it uses the admin\n"+
			"credential and needs --project. Follow the message with herald status NAME.",
		"herald send --credentials sa.json --token TOKEN --title Hello --body 'from herald'\n"+
			"herald send --project demo --token TOKEN --data order=42 --ttl 1h --priority high\n"+
			"herald send --credentials sa.json --topic news --collapse-key latest --dry-run")
	f.String(&token, "token", "", "", "registration `TOKEN` to send to")
	f.String(&topic, "topic", "", "", "`TOPIC` to send to")
	f.String(&condition, "condition", "", "", "topic `CONDITION` to send to, e.g. \"'a' in topics && 'b' in topics\"")
	f.String(&title, "title", "", "", "notification `TITLE`")
	f.String(&body, "body", "", "", "notification `BODY`")
	f.String(&image, "image", "", "", "notification image `URL`")
	f.Var(data, "data", "", "a data `KEY=VALUE` pair; repeat for more")
	f.Duration(&ttl, "ttl", 0, "", "time to live, a `DURATION` from 0 to 672h (28 days); 0: deliver now or drop")
	f.note("ttl", "default: the server's, 28 days")
	f.String(&collapseKey, "collapse-key", "", "", "collapse `KEY`: a newer message with it replaces an undelivered one")
	f.String(&priority, "priority", "", "", "`PRIORITY`, high or normal")
	f.note("priority", "default: the server's, normal")
	f.Bool(&o.request.ValidateOnly, "dry-run", false, "", "validate the message without delivering it")
	f.String(&o.credentials, "credentials", "", "GOOGLE_APPLICATION_CREDENTIALS", "service-account `FILE` from herald key create")
	f.String(&o.project, "project", "", "HERALD_PROJECT", "project `ID`")
	f.note("project", "default: the credentials file's project_id")
	o.admin.registerAs(f, "data-dir")
	f.Bool(&o.jsonOut, "json", false, "", "print the API's JSON answer")
	rest, err := f.parse(env, args)
	if err != nil {
		return sendOptions{}, err
	}
	if err := positionalArgs(name, rest); err != nil {
		return sendOptions{}, err
	}
	o.serverSet = f.isSet("server")
	targets := 0
	for _, t := range []string{token, topic, condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return sendOptions{}, usageErrorf(name, "give exactly one of --token, --topic or --condition")
	}
	m := fcmMessage{Token: token, Topic: topic, Condition: condition}
	if title != "" || body != "" || image != "" {
		m.Notification = &fcmNotification{Title: title, Body: body, Image: image}
	}
	if len(data) > 0 {
		m.Data = data
	}
	var android fcmAndroid
	if f.isSet("ttl") {
		if ttl < 0 || ttl > maxTTL {
			return sendOptions{}, usageErrorf(name, "--ttl %v is outside 0 to 672h (28 days)", ttl)
		}
		android.TTL = strconv.FormatFloat(ttl.Seconds(), 'f', -1, 64) + "s"
	}
	switch priority {
	case "", "high", "normal":
		android.Priority = priority
	default:
		return sendOptions{}, usageErrorf(name, "--priority %q: want high or normal", priority)
	}
	android.CollapseKey = collapseKey
	if android != (fcmAndroid{}) {
		m.Android = &android
	}
	o.request.Message = m
	if o.credentials == "" && o.project == "" {
		return sendOptions{}, usageErrorf(name, "--project is required without --credentials")
	}
	return o, nil
}

func runSend(ctx context.Context, env *Env, args []string) error {
	o, err := parseSend(env, args)
	if err != nil {
		return err
	}
	var c *apiClient
	viaKey := o.credentials != ""
	if viaKey {
		c, err = o.keyClient(ctx, env)
	} else {
		c, err = o.admin.client(env, "send")
	}
	if err != nil {
		return err
	}
	msgName, raw, err := c.sendMessage(ctx, o.project, o.request)
	if err != nil {
		return o.explain(err, viaKey)
	}
	if o.jsonOut {
		return writeRaw(env.Stdout, raw)
	}
	fmt.Fprintln(env.Stdout, msgName)
	if o.request.ValidateOnly {
		fmt.Fprintln(env.Stderr, "Dry run: the message is valid and was not delivered.")
	}
	return nil
}

// keyClient gets an access token for the service account in o.credentials
// and returns a client that sends with it. It fills in o.project from the
// file when --project is not given.
func (o *sendOptions) keyClient(ctx context.Context, env *Env) (*apiClient, error) {
	b, err := os.ReadFile(o.credentials)
	if err != nil {
		return nil, withHint(fmt.Errorf("read credentials: %w", err),
			"create a service-account file with herald key create --project ID --out FILE")
	}
	var sa struct {
		ProjectID string `json:"project_id"`
		TokenURI  string `json:"token_uri"`
	}
	if err := json.Unmarshal(b, &sa); err != nil {
		return nil, fmt.Errorf("credentials %s: not a service-account JSON file: %w", o.credentials, err)
	}
	if o.project == "" {
		o.project = sa.ProjectID
	}
	if o.project == "" {
		return nil, usageErrorf("send", "credentials %s have no project_id: set --project", o.credentials)
	}
	base := o.admin.server
	if !o.serverSet {
		if b, ok := strings.CutSuffix(sa.TokenURI, "/token"); ok && b != "" {
			base = b
		}
	}
	base, err = checkServerURL("send", base)
	if err != nil {
		return nil, err
	}
	hc := env.httpClient()
	octx := context.WithValue(ctx, oauth2.HTTPClient, hc)
	creds, err := google.CredentialsFromJSONWithType(octx, b, google.ServiceAccount, cloudPlatformScope)
	if err != nil {
		return nil, fmt.Errorf("credentials %s: %w", o.credentials, err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return nil, explainTokenError(err, sa.TokenURI, o.project)
	}
	return &apiClient{base: base, bearer: tok.AccessToken, http: hc}, nil
}

// explainTokenError says why no access token was issued.
func explainTokenError(err error, tokenURI, project string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" { // the JWT flow leaves the RFC 6749 §5.2 body undecoded
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code, desc = body.Error, body.Description
			}
		}
		msg := code
		if desc != "" {
			msg += ": " + desc
		}
		if msg == "" {
			msg = strings.TrimSpace(string(re.Body))
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return withHint(fmt.Errorf("token endpoint %s refused the service account (HTTP %d): %s", tokenURI, status, msg),
			"the key may be revoked (herald key list --project %s) or this clock may be off;\n"+
				"create a new key with herald key create --project %s --out FILE", project, project)
	}
	return withHint(fmt.Errorf("get an access token from %s: %w", tokenURI, err),
		"is `herald serve` running there? The file's token_uri comes from the server's --public-url\n"+
			"(or the URL `herald key create` used)")
}

// explain adds to a send error what the user can do about it.
func (o *sendOptions) explain(err error, viaKey bool) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.ErrorCode == "UNREGISTERED" || ae.HTTPStatus == http.StatusNotFound:
		return withHint(err, "the token was deleted or never existed: the app must register again and give you its new token")
	case ae.ErrorCode == "SENDER_ID_MISMATCH" || ae.HTTPStatus == http.StatusForbidden:
		return withHint(err, "the token belongs to another project, or the credential is not for project %s", o.project)
	case ae.HTTPStatus == http.StatusUnauthorized && viaKey:
		return withHint(err, "the access token was refused: the key may have been revoked (herald key list --project %s)", o.project)
	case ae.HTTPStatus == http.StatusUnauthorized:
		return o.admin.explainAdmin(err)
	case ae.HTTPStatus == http.StatusTooManyRequests || ae.HTTPStatus == http.StatusServiceUnavailable:
		return withHint(err, "the server is busy, starting or shutting down; try again shortly")
	}
	return err
}
