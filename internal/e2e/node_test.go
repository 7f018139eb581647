package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// nodeDir holds the Node project of the firebase-admin test: package.json
// pins the SDK version, package-lock.json the whole dependency tree.
const nodeDir = "node"

// npmTimeout bounds `npm ci`; nodeTimeout bounds one run of the script.
const (
	npmTimeout  = 5 * time.Minute
	nodeTimeout = 2 * time.Minute
)

// installNodeSDK makes sure node_modules holds the firebase-admin version
// that package.json pins, running `npm ci` (which installs exactly what
// package-lock.json lists) when it does not. It returns the path of node.
func installNodeSDK(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs Node.js (node and npm on PATH): %v", err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, filepath.Join(nodeDir, "package.json"), &pkg)
	want := pkg.Dependencies["firebase-admin"]
	if want == "" {
		t.Fatal("node/package.json does not depend on firebase-admin")
	}
	installed := func() string {
		var sdk struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(nodeDir, "node_modules", "firebase-admin", "package.json"))
		if err != nil || json.Unmarshal(b, &sdk) != nil {
			return ""
		}
		return sdk.Version
	}
	if got := installed(); got == want {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("firebase-admin %s is not installed in %s and npm is not on PATH: %v", want, nodeDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--engine-strict=false")
	cmd.Dir = nodeDir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in %s: %v (context: %v)\n%s", nodeDir, err, ctx.Err(), out)
	}
	t.Logf("npm ci installed firebase-admin in %v", time.Since(start).Round(time.Millisecond))
	if got := installed(); got != want {
		t.Fatalf("after npm ci, node_modules has firebase-admin %q, package.json pins %q", got, want)
	}
	return node
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// nodeResult is the outcome of one message as node/send.js prints it.
type nodeResult struct {
	OK      bool   `json:"ok"`
	Name    string `json:"name"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// nodeLine is one line of node/send.js's output.
type nodeLine struct {
	Op string `json:"op"`
	nodeResult
	// sendEach, sendEachForMulticast
	SuccessCount int          `json:"successCount"`
	FailureCount int          `json:"failureCount"`
	Responses    []nodeResult `json:"responses"`
	Thrown       *nodeResult  `json:"thrown"`
	// wire
	Requests []wireRequest `json:"requests"`
}

// wireRequest is an HTTP request the SDK wrote to its connection to Herald.
type wireRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Host   string `json:"host"`
	Auth   string `json:"auth"` // the Authorization scheme
}

// Outcomes of nodeResult.outcome besides the SDK's error codes.
const (
	outcomeSent   = "sent"    // a message name projects/P/messages/ID
	outcomeDryRun = "dry run" // projects/P/messages/fake_message_id
)

// outcome classifies a result: outcomeSent, outcomeDryRun or the error code.
func (r nodeResult) outcome(project string) string {
	if !r.OK {
		return r.Code
	}
	id, ok := strings.CutPrefix(r.Name, "projects/"+project+"/messages/")
	switch {
	case !ok || id == "" || strings.Contains(id, "/"):
		return "malformed name " + r.Name
	case id == "fake_message_id":
		return outcomeDryRun
	}
	return outcomeSent
}

// batchOutcome is what the test compares of a BatchResponse.
type batchOutcome struct {
	Success, Failure int
	Outcomes         []string
}

// TestNodeFirebaseAdmin sends through Herald with the real firebase-admin
// Node SDK (version pinned in node/package.json): the SDK authenticates with
// the service-account file Herald issued (the JWT-bearer exchange runs
// against Herald's /token) and calls send, send as a dry run, sendEach and
// sendEachForMulticast. The test checks every result the SDK reports and
// every message the device receives. It runs against a plain-HTTP server
// and against an https one (the script's agent then verifies Herald's
// certificate against the test CA and asks for HTTP/1.1 by ALPN).
func TestNodeFirebaseAdmin(t *testing.T) {
	node := installNodeSDK(t)
	t.Run("http", func(t *testing.T) { nodeFirebaseAdmin(t, node, heraldtest.Start(t)) })
	t.Run("tls", func(t *testing.T) { nodeFirebaseAdmin(t, node, heraldtest.StartTLS(t)) })
}

func nodeFirebaseAdmin(t *testing.T, node string, srv *heraldtest.Server) {
	const project, otherProject = "demo", "other"
	srv.CreateProject(t, project)
	appKey := srv.CreateApp(t, project)
	sa := srv.CreateServiceAccount(t, project)
	srv.CreateProject(t, otherProject)
	otherAppKey := srv.CreateApp(t, otherProject)

	d := newDevice(t, srv, appKey, "")
	d.run(t)
	gone := newDevice(t, srv, appKey, "")
	if err := gone.c.DeleteToken(context.Background(), appKey); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	foreign := newDevice(t, srv, otherAppKey, "")

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"HERALD_ADDR="+srv.Addr,
		"HERALD_SA="+sa,
		"HERALD_TOKEN="+d.token,
		"HERALD_DELETED_TOKEN="+gone.token,
		"HERALD_FOREIGN_TOKEN="+foreign.token,
	)
	if srv.TLS != nil {
		cmd.Env = append(cmd.Env, "HERALD_TLS_CA="+srv.TLS.CAFile)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node send.js: %v (context: %v)\nstdout:\n%s\nstderr:\n%s", err, ctx.Err(), stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("node send.js ran in %v", time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.Bytes())
	}

	lines := map[string]nodeLine{}
	var ops []string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Logf("node: %s", sc.Bytes())
		var l nodeLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("node printed a line that is not JSON: %q: %v", sc.Bytes(), err)
		}
		lines[l.Op] = l
		ops = append(ops, l.Op)
	}
	wantOps := []string{"send", "dryRun", "dryRunDeleted", "sendDeleted", "sendForeign", "sendReservedKey", "sendTooBig", "sendEach", "sendEachForMulticast", "wire"}
	if diff := cmp.Diff(wantOps, ops); diff != "" {
		t.Fatalf("node output lines (-want +got):\n%s", diff)
	}

	const (
		notRegistered = "messaging/registration-token-not-registered"
		mismatched    = "messaging/mismatched-credential"
		invalid       = "messaging/invalid-argument"
	)

	// Single sends: send resolves to the name, or rejects with the error.
	gotSingle := map[string]string{}
	for _, op := range wantOps[:7] {
		gotSingle[op] = lines[op].outcome(project)
	}
	wantSingle := map[string]string{
		"send":            outcomeSent,
		"dryRun":          outcomeDryRun,
		"dryRunDeleted":   notRegistered, // a dry run still checks the target
		"sendDeleted":     notRegistered,
		"sendForeign":     mismatched,
		"sendReservedKey": invalid,
		"sendTooBig":      invalid,
	}
	if diff := cmp.Diff(wantSingle, gotSingle); diff != "" {
		t.Errorf("send outcomes (-want +got):\n%s", diff)
	}

	// Batches: one result per message, in the order sent.
	batch := func(op string) batchOutcome {
		l := lines[op]
		if l.Thrown != nil {
			t.Errorf("%s threw %s: %s", op, l.Thrown.Code, l.Thrown.Message)
		}
		b := batchOutcome{Success: l.SuccessCount, Failure: l.FailureCount}
		for _, r := range l.Responses {
			b.Outcomes = append(b.Outcomes, r.outcome(project))
		}
		return b
	}
	wantEach := batchOutcome{Success: 2, Failure: 4, Outcomes: []string{outcomeSent, notRegistered, mismatched, invalid, invalid, outcomeSent}}
	if diff := cmp.Diff(wantEach, batch("sendEach")); diff != "" {
		t.Errorf("sendEach (-want +got):\n%s", diff)
	}
	wantMulticast := batchOutcome{Success: 1, Failure: 2, Outcomes: []string{outcomeSent, notRegistered, mismatched}}
	if diff := cmp.Diff(wantMulticast, batch("sendEachForMulticast")); diff != "" {
		t.Errorf("sendEachForMulticast (-want +got):\n%s", diff)
	}
	// Every error carries Herald's explanation, not just a code.
	for _, l := range lines {
		for _, r := range append([]nodeResult{l.nodeResult}, l.Responses...) {
			if r.Code != "" && r.Message == "" {
				t.Errorf("%s: error %s without a message", l.Op, r.Code)
			}
		}
	}

	// The wire: one JWT-bearer exchange against Herald's /token (the SDK
	// believes it talks to oauth2.googleapis.com), then every call an
	// HTTP/1.1 messages:send with the bearer token it got, in the order the
	// script makes them: 7 single sends, 6 from sendEach, 3 from
	// sendEachForMulticast. So every request went through the agent to
	// Herald, none to Google.
	sendReq := wireRequest{Method: "POST", Path: "/v1/projects/" + project + "/messages:send", Host: "fcm.googleapis.com", Auth: "Bearer"}
	wantWire := []wireRequest{{Method: "POST", Path: "/token", Host: "oauth2.googleapis.com"}}
	for range 7 + 6 + 3 {
		wantWire = append(wantWire, sendReq)
	}
	if diff := cmp.Diff(wantWire, lines["wire"].Requests); diff != "" {
		t.Errorf("HTTP requests of the SDK (-want +got):\n%s", diff)
	}

	if t.Failed() {
		t.FailNow() // the messages below depend on the results above
	}

	// The device gets exactly the 4 accepted messages, with the fields the
	// SDK sent. The dry run was answered before the batches were sent, so
	// had it been stored it would hold one of the sequence numbers 1..4.
	id := func(name string) string { return strings.TrimPrefix(name, "projects/"+project+"/messages/") }
	batchID := func(op string, i int) string { return id(lines[op].Responses[i].Name) }
	const defaultTTL = 28 * 24 * 60 * 60
	want := []herald.Message{
		{
			ID: id(lines["send"].Name), Token: d.token, From: project,
			TTLSeconds: 90, CollapseKey: "greeting", Priority: herald.PriorityHigh,
			Data:         map[string]string{"kind": "full", "k": "v", "unicode": "héllo ✓"},
			Notification: &herald.Notification{Title: "Hello", Body: "World", Image: "https://example.com/i.png"},
		},
		{
			ID: batchID("sendEach", 0), Token: d.token, From: project,
			TTLSeconds: defaultTTL, Priority: herald.PriorityNormal,
			Data: map[string]string{"kind": "each", "i": "0"},
		},
		{
			ID: batchID("sendEach", 5), Token: d.token, From: project,
			TTLSeconds: 60, Priority: herald.PriorityNormal,
			Notification: &herald.Notification{Title: "each", Body: "5"},
		},
		{
			ID: batchID("sendEachForMulticast", 0), Token: d.token, From: project,
			TTLSeconds: 120, CollapseKey: "mc", Priority: herald.PriorityNormal, // 120.5 s, rounded down
			Data: map[string]string{"kind": "multicast"},
		},
	}
	var got []herald.Message
	for range want {
		got = append(got, d.next(t))
	}
	// sendEach sends its messages concurrently: they may be stored in
	// either order, so sequence numbers 2 and 3 are checked apart.
	byID := func(a, b herald.Message) int { return strings.Compare(a.ID, b.ID) }
	seqs := []uint64{}
	for i := range got {
		seqs = append(seqs, got[i].Seq)
		if got[i].SentAtMillis <= 0 {
			t.Errorf("message %s: sent_at_ms = %d", got[i].ID, got[i].SentAtMillis)
		}
	}
	if diff := cmp.Diff([]uint64{1, 2, 3, 4}, seqs); diff != "" {
		t.Errorf("sequence numbers (-want +got):\n%s", diff)
	}
	sortedWant, sortedGot := slices.SortedFunc(slices.Values(want), byID), slices.SortedFunc(slices.Values(got), byID)
	if diff := cmp.Diff(sortedWant, sortedGot, cmpopts.IgnoreFields(herald.Message{}, "Seq", "SentAtMillis"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("messages the device received (-want +got):\n%s", diff)
	}
	if got[0].ID != want[0].ID || got[3].ID != want[3].ID {
		t.Errorf("delivery order: first %s, last %s; want the send first (%s) and the multicast last (%s)", got[0].ID, got[3].ID, want[0].ID, want[3].ID)
	}
}
