package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeJSON decodes s into a generic value for comparison.
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func TestSendBuildsFCMRequest(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // the request body
	}{
		{
			name: "notification, data and android options",
			args: []string{"--token", "tok1", "--title", "Hi", "--body", "there", "--image", "https://x/i.png",
				"--data", "order=42", "--data", "kind=a=b", "--ttl", "1h", "--collapse-key", "latest", "--priority", "high"},
			want: `{"message":{"token":"tok1","notification":{"title":"Hi","body":"there","image":"https://x/i.png"},
				"data":{"order":"42","kind":"a=b"},"android":{"ttl":"3600s","collapse_key":"latest","priority":"high"}}}`,
		},
		{
			name: "data only, no android block",
			args: []string{"--token", "tok1", "--data", "k=v"},
			want: `{"message":{"token":"tok1","data":{"k":"v"}}}`,
		},
		{
			name: "ttl zero is sent, fractions kept",
			args: []string{"--token", "tok1", "--ttl", "0s"},
			want: `{"message":{"token":"tok1","android":{"ttl":"0s"}}}`,
		},
		{
			name: "sub-second ttl",
			args: []string{"--token", "tok1", "--ttl", "1.5s", "--priority", "normal"},
			want: `{"message":{"token":"tok1","android":{"ttl":"1.5s","priority":"normal"}}}`,
		},
		{
			name: "topic",
			args: []string{"--topic", "news", "--title", "t"},
			want: `{"message":{"topic":"news","notification":{"title":"t"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeHerald(t)
			f.addDevice("demo", "tok1")
			r := runCLI(t, nil, adminVars(f), append([]string{"send", "--project", "demo"}, tt.args...)...)
			if r.code != 0 || r.stderr != "" || r.stdout != "projects/demo/messages/1\n" {
				t.Fatalf("send: %+v", r)
			}
			sent := f.sentMessages()
			if len(sent) != 1 {
				t.Fatalf("the server got %d messages, want 1", len(sent))
			}
			if diff := cmp.Diff(decodeJSON(t, tt.want), sent[0].Body); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendDryRunAndJSON(t *testing.T) {
	f := newFakeHerald(t)
	f.addDevice("demo", "tok1")
	r := runCLI(t, nil, adminVars(f), "send", "--project", "demo", "--token", "tok1", "--dry-run")
	want := result{stdout: "projects/demo/messages/fake_message_id\n",
		stderr: "Dry run: the message is valid and was not delivered.\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if n := len(f.sentMessages()); n != 0 {
		t.Errorf("a dry run delivered %d messages", n)
	}
	r = runCLI(t, nil, adminVars(f), "send", "--project", "demo", "--token", "tok1", "--json")
	if r.code != 0 || r.stdout != `{"name":"projects/demo/messages/1"}`+"\n" {
		t.Errorf("send --json: %+v", r)
	}
}

func TestSendErrors(t *testing.T) {
	f := newFakeHerald(t)
	f.addDevice("demo", "tok1")
	f.addDevice("other", "tok2")
	tests := []struct {
		name   string
		args   []string
		vars   map[string]string
		stderr string
	}{
		{
			name: "unregistered token",
			args: []string{"--project", "demo", "--token", "gone"},
			stderr: "herald: NOT_FOUND (UNREGISTERED): Requested entity was not found.\n" +
				"  the token was deleted or never existed: the app must register again and give you its new token\n",
		},
		{
			name: "token of another project",
			args: []string{"--project", "demo", "--token", "tok2"},
			stderr: "herald: PERMISSION_DENIED (SENDER_ID_MISMATCH): SenderId mismatch\n" +
				"  the token belongs to another project, or the credential is not for project demo\n",
		},
		{
			name: "bad admin token",
			args: []string{"--project", "demo", "--token", "tok1", "--admin-token", "wrong"},
			stderr: "herald: UNAUTHENTICATED (THIRD_PARTY_AUTH_ERROR): Request had invalid authentication credentials.\n" +
				"  the admin credential (from --admin-token or HERALD_ADMIN_TOKEN) was refused: check --admin-token,\n" +
				"  or run on the server host with --data set to the server's data directory\n",
		},
		{
			name:   "missing credentials file",
			args:   []string{"--token", "tok1"},
			vars:   map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/sa.json"},
			stderr: "herald: read credentials: open /nonexistent/sa.json: no such file or directory\n  create a service-account file with herald key create --project ID --out FILE\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := adminVars(f)
			for k, v := range tt.vars {
				vars[k] = v
			}
			r := runCLI(t, nil, vars, append([]string{"send"}, tt.args...)...)
			want := result{code: exitFailure, stderr: tt.stderr}
			if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSendWithServiceAccount runs the whole app-server path: key create
// writes the file, send exchanges a signed JWT for an access token at the
// file's token_uri and sends with it; the server comes from the file.
func TestSendWithServiceAccount(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")
	f.addDevice("demo", "tok1")
	f.addDevice("other", "tok2")
	sa := filepath.Join(t.TempDir(), "sa.json")
	if r := runCLI(t, nil, adminVars(f), "key", "create", "--project", "demo", "--out", sa); r.code != 0 {
		t.Fatalf("key create: %+v", r)
	}

	// No HERALD_SERVER, no admin token, no --project: all from the file.
	r := runCLI(t, nil, nil, "send", "--credentials", sa, "--token", "tok1", "--title", "Hello")
	if r.code != 0 || r.stdout != "projects/demo/messages/3\n" {
		t.Fatalf("send --credentials: %+v", r)
	}
	r = runCLI(t, nil, map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": sa}, "send", "--token", "tok1", "--title", "Again")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "projects/demo/messages/") {
		t.Fatalf("send with GOOGLE_APPLICATION_CREDENTIALS: %+v", r)
	}
	if got := f.sentMessages(); len(got) != 2 || got[0].Project != "demo" {
		t.Fatalf("the server got %+v", got)
	}

	// A token of another project: the key is for demo only.
	r = runCLI(t, nil, nil, "send", "--credentials", sa, "--project", "other", "--token", "tok2")
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, "herald: PERMISSION_DENIED (SENDER_ID_MISMATCH): ") {
		t.Errorf("send to another project: %+v", r)
	}

	// A revoked key gets no access token.
	if r := runCLI(t, nil, adminVars(f), "key", "revoke", "--project", "demo", "key0001"); r.code != 0 {
		t.Fatalf("key revoke: %+v", r)
	}
	r = runCLI(t, nil, nil, "send", "--credentials", sa, "--token", "tok1")
	wantErr := "herald: token endpoint " + f.srv.URL + "/token refused the service account (HTTP 400): invalid_grant: unknown or revoked key\n" +
		"  the key may be revoked (herald key list --project demo) or this clock may be off;\n" +
		"  create a new key with herald key create --project demo --out FILE\n"
	if diff := cmp.Diff(result{code: exitFailure, stderr: wantErr}, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("send with a revoked key (-want +got):\n%s", diff)
	}
}

func TestSendTokenEndpointDown(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")
	sa := filepath.Join(t.TempDir(), "sa.json")
	if r := runCLI(t, nil, adminVars(f), "key", "create", "--project", "demo", "--out", sa); r.code != 0 {
		t.Fatalf("key create: %+v", r)
	}
	f.srv.Close()
	r := runCLI(t, nil, nil, "send", "--credentials", sa, "--token", "tok1")
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, "herald: get an access token from "+f.srv.URL+"/token: ") ||
		!strings.Contains(r.stderr, "\n  is `herald serve` running there?") {
		t.Errorf("%+v", r)
	}
}

func TestSendRejectsNonServiceAccountFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "user.json")
	if err := os.WriteFile(path, []byte(`{"type":"authorized_user","project_id":"demo","token_uri":"http://127.0.0.1:1/token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, nil, "send", "--credentials", path, "--token", "tok1")
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, "herald: credentials "+path+": ") {
		t.Errorf("%+v", r)
	}
}
