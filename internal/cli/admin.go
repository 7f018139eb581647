package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Defaults of the flags shared by the commands that call a server.
const (
	defaultServer = "http://127.0.0.1:8080"
	defaultData   = "./herald-data"
	// adminTokenFile is the admin credential's file in the data directory.
	adminTokenFile = "admin-token"
)

// serverFlags are the flags of every command that talks to a server.
type serverFlags struct {
	server string
}

func (s *serverFlags) register(f *flagSet) {
	f.String(&s.server, "server", defaultServer, "HERALD_SERVER", "`URL` of the Herald server")
}

// baseURL checks the server URL and returns it without a trailing slash.
func (s *serverFlags) baseURL(cmd string) (string, error) {
	return checkServerURL(cmd, s.server)
}

func checkServerURL(cmd, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErrorf(cmd, "server %q is not an http(s) URL such as http://127.0.0.1:8080", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// adminFlags are the flags of the admin commands: the server and the admin
// credential.
type adminFlags struct {
	serverFlags
	token string
	data  string
}

func (a *adminFlags) register(f *flagSet) { a.registerAs(f, "data") }

// registerAs registers the flags, naming the data directory's flag
// dataFlag (send has its own --data).
func (a *adminFlags) registerAs(f *flagSet, dataFlag string) {
	a.serverFlags.register(f)
	f.String(&a.token, "admin-token", "", "HERALD_ADMIN_TOKEN", "admin `TOKEN` of the server")
	f.note("admin-token", "default: read DATA/admin-token")
	f.String(&a.data, dataFlag, defaultData, "HERALD_DATA", "the server's data `DIR`, where the admin token is read from")
}

// credential returns the admin token: the flag or variable, else the
// content of DATA/admin-token.
func (a *adminFlags) credential() (string, error) {
	if a.token != "" {
		return a.token, nil
	}
	path := filepath.Join(a.data, adminTokenFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", withHint(fmt.Errorf("no admin credential: %s does not exist", path),
			"set --admin-token or HERALD_ADMIN_TOKEN, or run on the server host with --data (or HERALD_DATA)\n"+
				"set to the directory `herald serve` uses (it writes admin-token there on first start)")
	}
	if err != nil {
		return "", withHint(fmt.Errorf("read the admin credential: %w", err),
			"run as the user who runs `herald serve`, or set --admin-token")
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("no admin credential: %s is empty", path)
	}
	return tok, nil
}

// client returns an API client authenticated as admin.
func (a *adminFlags) client(env *Env, cmd string) (*apiClient, error) {
	base, err := a.baseURL(cmd)
	if err != nil {
		return nil, err
	}
	tok, err := a.credential()
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, bearer: tok, http: env.httpClient()}, nil
}

// explainAdmin adds to an admin API error what the user can do about it.
func (a *adminFlags) explainAdmin(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.HTTPStatus {
	case 401, 403:
		src := "--admin-token or HERALD_ADMIN_TOKEN"
		if a.token == "" {
			src = filepath.Join(a.data, adminTokenFile)
		}
		return withHint(err, "the admin credential (from %s) was refused: check --admin-token,\n"+
			"or run on the server host with --data set to the server's data directory", src)
	case 404:
		return withHint(err, "check the ids you gave: herald project list, herald key list --project ID")
	case 409:
		return withHint(err, "it exists already; see herald project list")
	case 429, 503:
		return withHint(err, "the server is busy, starting or shutting down; try again shortly")
	}
	return err
}
