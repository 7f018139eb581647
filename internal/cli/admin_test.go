package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// adminVars points herald at f with its admin token in the environment.
func adminVars(f *fakeHerald) map[string]string {
	return map[string]string{"HERALD_SERVER": f.srv.URL, "HERALD_ADMIN_TOKEN": f.adminToken}
}

func TestProjectCreateAndList(t *testing.T) {
	f := newFakeHerald(t)
	vars := adminVars(f)

	r := runCLI(t, nil, vars, "project", "create", "demo")
	want := result{
		stdout: "id: demo\ncreated_at: 2026-01-02T03:04:05Z\n",
		stderr: "Next: herald app create --project demo\n",
	}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Fatalf("project create (-want +got):\n%s", diff)
	}

	// Flags after the positional argument, and --json.
	r = runCLI(t, nil, vars, "project", "create", "other", "--json")
	if r.code != 0 || r.stdout != `{"id":"other","created_at":"2026-01-02T03:04:05Z"}`+"\n" {
		t.Fatalf("project create --json: %+v", r)
	}

	r = runCLI(t, nil, vars, "project", "list")
	want = result{stdout: "ID     CREATED\n" +
		"demo   2026-01-02T03:04:05Z\n" +
		"other  2026-01-02T03:04:05Z\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("project list (-want +got):\n%s", diff)
	}

	r = runCLI(t, nil, vars, "project", "create", "demo")
	want = result{code: exitFailure, stderr: "herald: ALREADY_EXISTS: Project demo already exists.\n" +
		"  it exists already; see herald project list\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("project create twice (-want +got):\n%s", diff)
	}
}

func TestEmptyLists(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")
	vars := adminVars(f)
	r := runCLI(t, nil, adminVars(newFakeHerald(t)), "project", "list")
	if r.code != 0 || r.stdout != "" || r.stderr != "No projects yet: herald project create ID\n" {
		t.Errorf("project list on an empty server: %+v", r)
	}
	for _, args := range [][]string{{"app", "list", "--project", "demo"}, {"key", "list", "--project", "demo"}} {
		r := runCLI(t, nil, vars, args...)
		if r.code != 0 || r.stdout != "" || !strings.HasPrefix(r.stderr, "No ") {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestAppCreateAndList(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")
	vars := adminVars(f)

	r := runCLI(t, nil, vars, "app", "create", "--project", "demo", "--name", "android")
	want := result{
		stdout: "app_key: appkey-1\nproject_id: demo\nname: android\ncreated_at: 2026-01-02T03:04:05Z\n",
		stderr: "Give the app key to your app's Herald SDK, or try it: herald listen --app-key appkey-1\n",
	}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Fatalf("app create (-want +got):\n%s", diff)
	}
	vars["HERALD_PROJECT"] = "demo"
	if r := runCLI(t, nil, vars, "app", "create"); r.code != 0 || !strings.HasPrefix(r.stdout, "app_key: appkey-2\n") {
		t.Fatalf("app create with HERALD_PROJECT: %+v", r)
	}
	r = runCLI(t, nil, vars, "app", "list")
	want = result{stdout: "APP KEY   NAME     CREATED\n" +
		"appkey-1  android  2026-01-02T03:04:05Z\n" +
		"appkey-2           2026-01-02T03:04:05Z\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("app list (-want +got):\n%s", diff)
	}

	r = runCLI(t, nil, vars, "app", "list", "--project", "nope")
	want = result{code: exitFailure, stderr: "herald: NOT_FOUND: Project nope not found.\n" +
		"  check the ids you gave: herald project list, herald key list --project ID\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("app list of an unknown project (-want +got):\n%s", diff)
	}
}

func TestAdminCredentialSources(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")

	dataWith := func(token string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "admin-token"), []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	good, bad := dataWith(f.adminToken), dataWith("wrong")
	empty := t.TempDir()

	tests := []struct {
		name string
		args []string
		vars map[string]string
		ok   bool
	}{
		{"flag", []string{"--admin-token", f.adminToken}, map[string]string{"HERALD_DATA": bad}, true},
		{"flag over env", []string{"--admin-token", f.adminToken}, map[string]string{"HERALD_ADMIN_TOKEN": "wrong"}, true},
		{"env over data file", nil, map[string]string{"HERALD_ADMIN_TOKEN": f.adminToken, "HERALD_DATA": bad}, true},
		{"data file from HERALD_DATA", nil, map[string]string{"HERALD_DATA": good}, true},
		{"data file from --data over HERALD_DATA", []string{"--data", good}, map[string]string{"HERALD_DATA": bad}, true},
		{"wrong token in data file", []string{"--data", bad}, nil, false},
		{"wrong token in flag", []string{"--admin-token", "wrong"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"HERALD_SERVER": f.srv.URL, "HERALD_DATA": empty}
			for k, v := range tt.vars {
				vars[k] = v
			}
			r := runCLI(t, nil, vars, append([]string{"project", "list"}, tt.args...)...)
			if tt.ok {
				if r.code != 0 || !strings.Contains(r.stdout, "demo") {
					t.Errorf("want success: %+v", r)
				}
				return
			}
			if r.code != exitFailure || !strings.HasPrefix(r.stderr, "herald: UNAUTHENTICATED: ") ||
				!strings.Contains(r.stderr, "check --admin-token,\n  or run on the server host with --data") {
				t.Errorf("want the refusal and its hint: %+v", r)
			}
		})
	}

	t.Run("no credential anywhere", func(t *testing.T) {
		r := runCLI(t, nil, map[string]string{"HERALD_SERVER": f.srv.URL, "HERALD_DATA": empty}, "project", "list")
		want := result{code: exitFailure, stderr: "herald: no admin credential: " + filepath.Join(empty, "admin-token") + " does not exist\n" +
			"  set --admin-token or HERALD_ADMIN_TOKEN, or run on the server host with --data (or HERALD_DATA)\n" +
			"  set to the directory `herald serve` uses (it writes admin-token there on first start)\n"}
		if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestServerNotRunning(t *testing.T) {
	f := newFakeHerald(t)
	url := f.srv.URL
	f.srv.Close() // nothing listens there any more
	r := runCLI(t, nil, map[string]string{"HERALD_SERVER": url, "HERALD_ADMIN_TOKEN": "x"}, "project", "list")
	if r.code != exitFailure ||
		!strings.HasPrefix(r.stderr, "herald: cannot reach the server at "+url+": ") ||
		!strings.HasSuffix(r.stderr, "\n  is `herald serve` running at "+url+"? Point to it with --server or HERALD_SERVER.\n") {
		t.Errorf("%+v", r)
	}
}

func TestKeyCreateListRevoke(t *testing.T) {
	f := newFakeHerald(t)
	f.addProject("demo")
	vars := adminVars(f)
	dir := t.TempDir()
	out := filepath.Join(dir, "sa.json")

	r := runCLI(t, nil, vars, "key", "create", "--project", "demo", "--out", out)
	if r.code != 0 {
		t.Fatalf("key create: %+v", r)
	}
	wantOut := "key_id: key0001\nclient_email: herald-1@demo.iam.herald\n" +
		"Wrote " + out + ": keep it secret, it holds the private key.\n" +
		"Use it:\n  herald send --credentials " + out + " --token TOKEN --title Hello\n" +
		"  export GOOGLE_APPLICATION_CREDENTIALS=" + out + "   # Firebase Admin SDKs\n"
	if diff := cmp.Diff(wantOut, r.stdout); diff != "" {
		t.Errorf("key create stdout (-want +got):\n%s", diff)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", out, st.Mode().Perm())
	}
	var sa map[string]string
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &sa); err != nil {
		t.Fatalf("service account file: %v", err)
	}
	if sa["type"] != "service_account" || sa["private_key_id"] != "key0001" || sa["project_id"] != "demo" ||
		!strings.HasPrefix(sa["private_key"], "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("service account file holds %v", sa)
	}

	// No overwrite without --force, and no key created for nothing.
	r = runCLI(t, nil, vars, "key", "create", "--project", "demo", "--out", out)
	want := result{code: exitFailure, stderr: "herald: " + out + " exists\n  choose another --out, or add --force to overwrite it\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("key create over a file (-want +got):\n%s", diff)
	}
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, vars, "key", "create", "--project", "demo", "--out", out, "--force")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "key_id: key0002\n") {
		t.Fatalf("key create --force: %+v", r)
	}
	b, _ = os.ReadFile(out)
	st, _ = os.Stat(out)
	if !strings.Contains(string(b), `"private_key_id":"key0002"`) || st.Mode().Perm() != 0o600 {
		t.Errorf("after --force: mode %v, content %s", st.Mode().Perm(), b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d files, want only sa.json", dir, len(entries))
	}

	// --out - writes the file to stdout and the summary to stderr.
	r = runCLI(t, nil, vars, "key", "create", "--project", "demo", "--out", "-")
	if r.code != 0 || !json.Valid([]byte(r.stdout)) || r.stderr != "key_id: key0003\nclient_email: herald-3@demo.iam.herald\n" {
		t.Errorf("key create --out -: %+v", r)
	}

	if r := runCLI(t, nil, vars, "key", "revoke", "key0001", "--project", "demo"); r.code != 0 || r.stdout != "revoked key key0001 of project demo\n" {
		t.Errorf("key revoke: %+v", r)
	}
	r = runCLI(t, nil, vars, "key", "list", "--project", "demo")
	wantList := "ID       CLIENT EMAIL              CREATED               REVOKED\n" +
		"key0001  herald-1@demo.iam.herald  2026-01-02T03:04:05Z  true\n" +
		"key0002  herald-2@demo.iam.herald  2026-01-02T03:04:05Z  false\n" +
		"key0003  herald-3@demo.iam.herald  2026-01-02T03:04:05Z  false\n"
	if diff := cmp.Diff(result{stdout: wantList}, r, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("key list (-want +got):\n%s", diff)
	}
	r = runCLI(t, nil, vars, "key", "list", "--project", "demo", "--json")
	var listed struct{ Keys []Key }
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed.Keys) != 3 {
		t.Errorf("key list --json: %v, %+v", err, r)
	}
	if r := runCLI(t, nil, vars, "key", "revoke", "--project", "demo", "nokey"); r.code != exitFailure ||
		!strings.HasPrefix(r.stderr, "herald: NOT_FOUND: Key nokey not found.\n") {
		t.Errorf("revoke of an unknown key: %+v", r)
	}
}
