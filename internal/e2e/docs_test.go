package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// migratingDoc is the guide whose programs TestMigratingGuide runs.
const migratingDoc = "../../docs/migrating-from-fcm.md"

// The placeholders the guide names: its server URL and the tokens in its
// example commands. Nothing else in the programs is changed.
const (
	docServerURL = "http://127.0.0.1:8080"
	docToken     = "TOKEN"
	docOldToken  = "OLD_TOKEN"
	docProject   = "demo" // the project of `herald key create --project demo`
)

// docBuildTimeout bounds building the Go program, docRunTimeout one run of
// either program.
const (
	docBuildTimeout = 5 * time.Minute
	docRunTimeout   = time.Minute
)

// docSession is one command of a ```console block and the lines it prints.
type docSession struct {
	args []string
	want []string
}

// guide is what the test reads from the Markdown: the programs (fenced
// blocks whose first line is "// file: NAME") and the console sessions.
type guide struct {
	files    map[string]string
	sessions []docSession
}

// parseGuide reads the fenced code blocks of a Markdown file.
func parseGuide(t *testing.T, path string) guide {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := guide{files: map[string]string{}}
	var (
		inBlock bool
		lang    string
		lines   []string
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		fence, isFence := strings.CutPrefix(line, "```")
		switch {
		case !inBlock && isFence:
			inBlock, lang, lines = true, strings.TrimSpace(fence), nil
		case inBlock && isFence:
			inBlock = false
			g.addBlock(t, lang, lines)
		case inBlock:
			lines = append(lines, line)
		}
	}
	if inBlock {
		t.Fatalf("%s: unterminated code block", path)
	}
	return g
}

func (g *guide) addBlock(t *testing.T, lang string, lines []string) {
	t.Helper()
	if len(lines) == 0 {
		return
	}
	if name, ok := strings.CutPrefix(lines[0], "// file: "); ok {
		if _, dup := g.files[name]; dup {
			t.Fatalf("the guide has two blocks for file %s", name)
		}
		g.files[name] = strings.Join(lines, "\n") + "\n"
		return
	}
	if lang != "console" {
		return // setup commands (```sh) are for the reader
	}
	for _, l := range lines {
		if cmd, ok := strings.CutPrefix(l, "$ "); ok {
			g.sessions = append(g.sessions, docSession{args: strings.Fields(cmd)})
			continue
		}
		if len(g.sessions) == 0 {
			t.Fatalf("console block output before any command: %q", l)
		}
		s := &g.sessions[len(g.sessions)-1]
		s.want = append(s.want, l)
	}
}

// messageName matches a message name as the programs print it; the ID in
// the guide is an example.
var messageName = regexp.MustCompile(`projects/` + docProject + `/messages/([0-9a-z]+)`)

// TestMigratingGuide runs the Go and Node programs of
// docs/migrating-from-fcm.md, as the guide shows them, against a real
// server with a real device: the Go one built with the real
// firebase.google.com/go/v4 at the version go.mod pins, the Node one with
// the real firebase-admin of node/package.json. It checks that every
// command prints what the guide shows and that the device gets the
// messages.
func TestMigratingGuide(t *testing.T) {
	g := parseGuide(t, migratingDoc)
	for _, name := range []string{"main.go", "send.js"} {
		if !strings.Contains(g.files[name], docServerURL) {
			t.Fatalf("the guide has no %s naming the server %s", name, docServerURL)
		}
	}
	var commands []string
	for _, s := range g.sessions {
		commands = append(commands, strings.Join(s.args, " "))
	}
	wantCommands := []string{"go run . " + docToken, "go run . " + docOldToken, "node send.js " + docToken + " " + docOldToken}
	if diff := cmp.Diff(wantCommands, commands); diff != "" {
		t.Fatalf("the guide's console sessions (-want +got):\n%s", diff)
	}

	node := installNodeSDK(t)
	nodeModules, err := filepath.Abs(filepath.Join(nodeDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	srv := heraldtest.Start(t)
	srv.CreateProject(t, docProject)
	appKey := srv.CreateApp(t, docProject)
	sa, err := os.ReadFile(srv.CreateServiceAccount(t, docProject))
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, srv, appKey, "")
	d.run(t)
	old := newDevice(t, srv, appKey, "")
	if err := old.c.DeleteToken(context.Background(), appKey); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}

	// Each program runs in its own folder holding sa.json, as the guide
	// has it.
	substitute := strings.NewReplacer(docServerURL, srv.URL)
	goBin := buildGuideProgram(t, substitute.Replace(g.files["main.go"]))
	goDir, nodeRunDir := filepath.Dir(goBin), t.TempDir()
	writeFile(t, filepath.Join(goDir, "sa.json"), string(sa))
	writeFile(t, filepath.Join(nodeRunDir, "sa.json"), string(sa))
	writeFile(t, filepath.Join(nodeRunDir, "send.js"), substitute.Replace(g.files["send.js"]))

	tokens := map[string]string{docToken: d.token, docOldToken: old.token}
	var names []string // the message names the programs printed, in order
	for _, s := range g.sessions {
		args := make([]string, len(s.args))
		for i, a := range s.args {
			args[i] = a
			if tok, ok := tokens[a]; ok {
				args[i] = tok
			}
		}
		var cmd *exec.Cmd
		ctx, cancel := context.WithTimeout(context.Background(), docRunTimeout)
		switch args[0] {
		case "go": // go run . ARGS: the program built from the guide's main.go
			cmd = exec.CommandContext(ctx, goBin, args[3:]...)
			cmd.Dir = goDir
		case "node":
			cmd = exec.CommandContext(ctx, node, args[1:]...)
			cmd.Dir = nodeRunDir
			cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		name := strings.Join(s.args, " ")
		if err != nil {
			t.Fatalf("%s: %v (context: %v)\nstdout:\n%s\nstderr:\n%s", name, err, ctx.Err(), stdout.Bytes(), stderr.Bytes())
		}
		if stderr.Len() > 0 {
			t.Logf("%s: stderr:\n%s", name, stderr.Bytes())
		}
		got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		for _, l := range got {
			if m := messageName.FindStringSubmatch(l); m != nil {
				names = append(names, m[1])
			}
		}
		// The guide's message IDs are examples: compare with them masked.
		mask := func(lines []string) []string {
			out := make([]string, len(lines))
			for i, l := range lines {
				out[i] = messageName.ReplaceAllString(l, "projects/"+docProject+"/messages/ID")
			}
			return out
		}
		if diff := cmp.Diff(mask(s.want), mask(got)); diff != "" {
			t.Errorf("%s: output (-guide +got):\n%s", name, diff)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The device gets the Go program's message, then the Node program's
	// send and the one accepted message of its multicast; the deleted token
	// gets nothing (it has no connection, and its sends were refused).
	if len(names) != 2 {
		t.Fatalf("the programs printed %d message names, want 2 (Go's send, Node's send)", len(names))
	}
	shipped := map[string]string{"order": "42"}
	notification := &herald.Notification{Title: "Order shipped", Body: "Arriving on Tuesday"}
	const defaultTTL = 28 * 24 * 60 * 60
	want := []herald.Message{
		{ID: names[0], Seq: 1, Token: d.token, From: docProject, TTLSeconds: 3600, Priority: herald.PriorityHigh, Data: shipped, Notification: notification},
		{ID: names[1], Seq: 2, Token: d.token, From: docProject, TTLSeconds: 3600, Priority: herald.PriorityHigh, Data: shipped, Notification: notification},
		{Seq: 3, Token: d.token, From: docProject, TTLSeconds: defaultTTL, Priority: herald.PriorityNormal, Data: map[string]string{"order": "43"}},
	}
	var got []herald.Message
	for range want {
		got = append(got, d.next(t))
	}
	want[2].ID = got[2].ID // the multicast's names are not printed
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(herald.Message{}, "SentAtMillis")); diff != "" {
		t.Errorf("messages the device received (-want +got):\n%s", diff)
	}
}

// buildGuideProgram builds the guide's main.go as a module of its own that
// requires exactly the modules (and sums) of Herald's go.mod, so it uses
// the firebase.google.com/go/v4 version pinned there from the module
// cache. It returns the binary's path, in the program's folder.
func buildGuideProgram(t *testing.T, mainGo string) string {
	t.Helper()
	dir := t.TempDir()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	modText, ok := strings.CutPrefix(string(mod), "module github.com/heraldpush/herald\n")
	if !ok {
		t.Fatal("go.mod does not start with the module line")
	}
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/sender\n"+modText)
	writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	writeFile(t, filepath.Join(dir, "main.go"), mainGo)

	bin := filepath.Join(dir, "sender")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race") // reuses the packages this test binary was built from
	}
	ctx, cancel := context.WithTimeout(context.Background(), docBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v (context: %v)\n%s", strings.Join(args, " "), err, ctx.Err(), out)
	}
	t.Logf("built the guide's Go program in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
