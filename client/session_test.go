package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/go-cmp/cmp"
	"github.com/heraldpush/herald"
)

// noPing is a ping interval long enough that no ping interleaves with a
// test's frames.
const noPing = time.Hour

func TestSessionDeliversInOrderDedupesAndAcksAfterSaving(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	dir := t.TempDir()
	c := mustNew(t, rec.config(fs.URL(), dir, t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)

	sc := fs.accept()
	hello := sc.handshake(noPing)
	want := &herald.Hello{
		Version: herald.ProtocolVersion, DeviceID: "dev-1", DeviceSecret: "secret-dev-1",
		State: herald.Foreground, Registrations: []herald.Resume{{Token: tok}},
	}
	if diff := cmp.Diff(want, hello); diff != "" {
		t.Fatalf("hello (-want +got):\n%s", diff)
	}
	wait(t, rec.connected, "OnConnected")

	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a"), msg(tok, 2, "b")}})
	got := []herald.Message{wait(t, rec.messages, "message a"), wait(t, rec.messages, "message b")}
	if diff := cmp.Diff([]herald.Message{msg(tok, 1, "a"), msg(tok, 2, "b")}, got); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	ack := sc.read()
	if diff := cmp.Diff(herald.Frame{Type: herald.FrameAck, Acks: []herald.Ack{{Token: tok, Seq: 2}}}, ack); diff != "" {
		t.Fatalf("ack (-want +got):\n%s", diff)
	}
	// The ack came after the dedupe mark was on disk.
	if got := readStateFile(t, dir).Registrations["app-1"].LastHandled; got != 2 {
		t.Fatalf("last_handled on disk when acked = %d, want 2", got)
	}

	// A resent message (at least once) is acknowledged, not delivered again.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 2, "b"), msg(tok, 3, "c")}})
	if got := wait(t, rec.messages, "message c"); got.Data["text"] != "c" {
		t.Fatalf("got %q, want c", got.Data["text"])
	}
	ack = sc.read()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 3}}, ack.Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a")}})
	ack = sc.read()
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 1}}, ack.Acks); diff != "" {
		t.Fatalf("acks of a duplicate (-want +got):\n%s", diff)
	}
	none(t, rec.messages, "message")
}

func TestResumeAfterRestartDropsWhatWasHandled(t *testing.T) {
	fs := newFakeServer(t)
	dir := t.TempDir()

	rec1 := newRecorder()
	c1 := mustNew(t, rec1.config(fs.URL(), dir, t))
	tok := mustRegister(t, c1, "app-1")
	stop := startRun(t, c1)
	sc := fs.accept()
	sc.handshake(noPing)
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a"), msg(tok, 2, "b")}})
	wait(t, rec1.messages, "a")
	wait(t, rec1.messages, "b")
	sc.read() // ack 2
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process with the same StateDir is the same device and resumes.
	rec2 := newRecorder()
	c2 := mustNew(t, rec2.config(fs.URL(), dir, t))
	if got, _ := c2.Token("app-1"); got != tok {
		t.Fatalf("token after restart = %q, want %q", got, tok)
	}
	startRun(t, c2)
	sc = fs.accept()
	hello := sc.handshake(noPing)
	if diff := cmp.Diff([]herald.Resume{{Token: tok, Acked: 2}}, hello.Registrations); diff != "" {
		t.Fatalf("resume point (-want +got):\n%s", diff)
	}
	if hello.DeviceID != "dev-1" {
		t.Fatalf("device after restart = %q, want dev-1", hello.DeviceID)
	}
	// The server lost the ack of 2 and resends it with 3.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 2, "b"), msg(tok, 3, "c")}})
	if got := wait(t, rec2.messages, "c"); got.Data["text"] != "c" {
		t.Fatalf("first message after restart = %q, want c", got.Data["text"])
	}
	sc.read() // ack 3
	none(t, rec2.messages, "message")
}

func TestDeletedMessagesTakeASeqAndAreAcked(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)

	sc.send(herald.Frame{Type: herald.FrameDeleted, Deleted: &herald.Deleted{Token: tok, Seq: 5, Count: 100}})
	if diff := cmp.Diff(deletedEvent{tok, 100}, wait(t, rec.deleted, "OnDeletedMessages"), cmp.AllowUnexported(deletedEvent{})); diff != "" {
		t.Fatalf("deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 5}}, sc.read().Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	// Resent: acknowledged again, not reported again; older messages are
	// duplicates too.
	sc.send(herald.Frame{Type: herald.FrameDeleted, Deleted: &herald.Deleted{Token: tok, Seq: 5, Count: 100}})
	sc.read()
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 4, "old"), msg(tok, 6, "new")}})
	if got := wait(t, rec.messages, "message after the marker"); got.Data["text"] != "new" {
		t.Fatalf("got %q, want new", got.Data["text"])
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 6}}, sc.read().Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	none(t, rec.deleted, "deleted event")
	none(t, rec.messages, "message")
}

func TestTokenRefreshFromTheServer(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	dir := t.TempDir()
	c := mustNew(t, rec.config(fs.URL(), dir, t))
	old := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(old, 7, "a")}})
	wait(t, rec.messages, "a")
	sc.read()

	sc.send(herald.Frame{Type: herald.FrameTokenRefresh, TokenRefresh: &herald.TokenRefresh{Old: old, New: "tok-new"}})
	if diff := cmp.Diff([2]string{"app-1", "tok-new"}, wait(t, rec.newTokens, "OnNewToken")); diff != "" {
		t.Fatalf("OnNewToken (-want +got):\n%s", diff)
	}
	if got, _ := c.Token("app-1"); got != "tok-new" {
		t.Fatalf("Token = %q, want tok-new", got)
	}
	// The new token has its own sequence, from 1.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg("tok-new", 1, "b")}})
	if got := wait(t, rec.messages, "b"); got.Token != "tok-new" {
		t.Fatalf("token = %q", got.Token)
	}
	sc.read()
	// A late message of the old token belongs to nobody: neither delivered
	// nor acknowledged (the next frame the server reads is the ping's pong
	// answer… here, the ack of the following message).
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(old, 8, "late")}})
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg("tok-new", 2, "c")}})
	if got := wait(t, rec.messages, "c"); got.Data["text"] != "c" {
		t.Fatalf("got %q, want c (late message of the old token delivered?)", got.Data["text"])
	}
	if diff := cmp.Diff([]herald.Ack{{Token: "tok-new", Seq: 2}}, sc.read().Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
	if got := readStateFile(t, dir).Registrations["app-1"]; got.Token != "tok-new" || got.LastHandled != 2 {
		t.Fatalf("state = %+v", got)
	}
}

func TestGoAwayReconnectsAfterTheServersDelay(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	cfg := rec.config(fs.URL(), "", t)
	// A backoff far longer than the test: only the goaway delay can bring
	// the client back in time.
	cfg.Backoff = BackoffConfig{Min: time.Hour, Max: time.Hour}
	c := mustNew(t, cfg)
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "first session")
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a")}})
	wait(t, rec.messages, "a")
	sc.read()

	sc.send(herald.Frame{Type: herald.FrameGoAway, GoAway: &herald.GoAway{Reason: "shutdown", ReconnectAfterMillis: 1}})
	sc.closeWith(herald.CloseGoingAway, "shutdown")

	sc2 := fs.accept()
	hello := sc2.handshake(noPing)
	if diff := cmp.Diff([]herald.Resume{{Token: tok, Acked: 1}}, hello.Registrations); diff != "" {
		t.Fatalf("resume (-want +got):\n%s", diff)
	}
	wait(t, rec.connected, "second session")
}

func TestUnauthorizedRegistersEveryAppAgain(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), t.TempDir(), t))
	tok1 := mustRegister(t, c, "app-1")
	tok2 := mustRegister(t, c, "app-2")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "first session")

	fs.forgetDevices()
	sc.closeWith(herald.CloseUnauthorized, "unknown device")

	sc2 := fs.accept()
	hello := sc2.handshake(noPing)
	if hello.DeviceID == "dev-1" {
		t.Fatalf("reconnected with the forgotten device")
	}
	got := map[string]string{}
	for range 2 {
		nt := wait(t, rec.newTokens, "OnNewToken")
		got[nt[0]] = nt[1]
	}
	for k, old := range map[string]string{"app-1": tok1, "app-2": tok2} {
		tok, _ := c.Token(k)
		if got[k] != tok || tok == old || tok == "" {
			t.Errorf("%s: OnNewToken %q, Token %q, old %q", k, got[k], tok, old)
		}
	}
	var resumed []string
	for _, r := range hello.Registrations {
		resumed = append(resumed, r.Token)
		if r.Acked != 0 {
			t.Errorf("new token %s resumes at %d, want 0", r.Token, r.Acked)
		}
	}
	if len(resumed) != 2 {
		t.Fatalf("hello registrations = %v, want the two new tokens", resumed)
	}
	wait(t, rec.connected, "second session")
}

func TestWelcomeUnregisteredRegistersThatAppAgain(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	tok1 := mustRegister(t, c, "app-1")
	tok2 := mustRegister(t, c, "app-2")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing, tok1)

	nt := wait(t, rec.newTokens, "OnNewToken")
	if nt[0] != "app-1" || nt[1] == tok1 {
		t.Fatalf("OnNewToken(%q, %q), want app-1 with a new token", nt[0], nt[1])
	}
	wait(t, rec.connected, "session")
	if got, _ := c.Token("app-2"); got != tok2 {
		t.Fatalf("app-2 token changed to %q", got)
	}
	// Registered with the device credential, on the live session.
	wantCalls := []string{
		"POST /device/v1/registrations",
		"POST /device/v1/registrations auth",
		"POST /device/v1/registrations auth",
	}
	if diff := cmp.Diff(wantCalls, fs.httpRequests()); diff != "" {
		t.Fatalf("HTTP calls (-want +got):\n%s", diff)
	}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(nt[1], 1, "a")}})
	if got := wait(t, rec.messages, "a"); got.Token != nt[1] {
		t.Fatalf("message token %q", got.Token)
	}
}

func TestReplacedStopsRun(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	mustRegister(t, c, "app-1")
	done := runResult(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	sc.closeWith(herald.CloseReplaced, "replaced")
	if err := wait(t, done, "Run to return"); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Run = %v, want ErrReplaced", err)
	}
}

func TestUnsupportedVersionStopsRun(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	mustRegister(t, c, "app-1")
	done := runResult(t, c)
	sc := fs.accept()
	sc.read()
	sc.closeWith(herald.CloseUnsupportedVersion, "v1 unsupported")
	if err := wait(t, done, "Run to return"); err == nil || errors.Is(err, ErrReplaced) {
		t.Fatalf("Run = %v, want a version error", err)
	}
}

func TestBadFrameClosesAndReconnects(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	// A message without a seq cannot be deduplicated: the SDK refuses it.
	sc.sendRaw([]byte(`{"type":"messages","messages":[{"id":"x","token":"` + tok + `"}]}`))
	if _, err := sc.tryRead(); err == nil {
		t.Fatal("connection still open after a bad frame")
	}
	sc2 := fs.accept()
	sc2.handshake(noPing)
	// Unknown frame types and members are ignored.
	sc2.sendRaw([]byte(`{"type":"future_thing","future":1}`))
	sc2.sendRaw([]byte(`{"type":"messages","extra":true,"messages":[{"id":"y","seq":1,"token":"` + tok + `","new_field":2}]}`))
	if got := wait(t, rec.messages, "message"); got.ID != "y" {
		t.Fatalf("got %q", got.ID)
	}
}

func TestAppStateRoutesMessages(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	tok := mustRegister(t, c, "app-1")
	ctx := context.Background()
	startRun(t, c)
	sc := fs.accept()
	if h := sc.handshake(noPing); h.State != herald.Foreground {
		t.Fatalf("hello state %q", h.State)
	}
	wait(t, rec.connected, "session")

	if err := c.SetAppState(ctx, herald.Background); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(herald.Frame{Type: herald.FrameState, State: herald.Background}, sc.read()); diff != "" {
		t.Fatalf("state frame (-want +got):\n%s", diff)
	}
	withNote := msg(tok, 1, "note")
	withNote.Notification = &herald.Notification{Title: "Hi", Body: "there"}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{withNote, msg(tok, 2, "data")}})
	if got := wait(t, rec.notified, "notification"); got.ID != withNote.ID {
		t.Fatalf("notified %q", got.ID)
	}
	if got := wait(t, rec.background, "background data"); got.Data["text"] != "data" {
		t.Fatalf("background %q", got.Data["text"])
	}
	sc.read()
	none(t, rec.messages, "foreground message")

	if err := c.SetAppState(ctx, herald.Foreground); err != nil {
		t.Fatal(err)
	}
	sc.read()
	withNote.Seq = 3
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{withNote}})
	if got := wait(t, rec.messages, "foreground notification"); got.Seq != 3 {
		t.Fatalf("got seq %d", got.Seq)
	}
	if err := c.SetAppState(ctx, "minimised"); err == nil {
		t.Fatal("SetAppState accepted an unknown state")
	}
}

func TestHeartbeat(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(20 * time.Millisecond)
	for range 3 {
		if f := sc.read(); f.Type != herald.FramePing {
			t.Fatalf("got %q, want ping", f.Type)
		}
		sc.send(herald.Frame{Type: herald.FramePong})
	}
	// A server that stops answering is dropped after twice the interval,
	// and the client comes back.
	sc2 := fs.accept()
	sc2.handshake(noPing)
	wait(t, rec.connected, "first session")
	wait(t, rec.connected, "second session")
}

func TestRunWaitsForTheFirstRegistration(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	startRun(t, c)
	tok := mustRegister(t, c, "app-1")
	sc := fs.accept()
	if h := sc.handshake(noPing); len(h.Registrations) != 1 || h.Registrations[0].Token != tok {
		t.Fatalf("hello registrations %+v", h.Registrations)
	}
}

func TestRegisterWhileConnectedNeedsNoReconnect(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "session")
	tok2 := mustRegister(t, c, "app-2")
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok2, 1, "x")}})
	if got := wait(t, rec.messages, "message of the new app"); got.Token != tok2 {
		t.Fatalf("token %q", got.Token)
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok2, Seq: 1}}, sc.read().Acks); diff != "" {
		t.Fatalf("acks (-want +got):\n%s", diff)
	}
}

func TestCancelSendsNormalClose(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), "", t))
	mustRegister(t, c, "app-1")
	stop := startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "session")
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	_, err := sc.tryRead()
	var ce wsutil.ClosedError
	if !errors.As(err, &ce) || ce.Code != ws.StatusNormalClosure {
		t.Fatalf("server read after cancel = %v, want a 1000 close", err)
	}
}

// readStateFile decodes dir/state.json.
func readStateFile(t *testing.T, dir string) state {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestABurstOfFramesIsAckedOnce(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	c := mustNew(t, rec.config(fs.URL(), t.TempDir(), t))
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "OnConnected")

	// Three frames in one write: the device reads them from one buffer
	// and owes one ack for all.
	var burst bytes.Buffer
	for seq := uint64(1); seq <= 3; seq++ {
		b, err := json.Marshal(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, seq, fmt.Sprint(seq))}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wsutil.WriteServerText(&burst, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sc.nc.Write(burst.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		wait(t, rec.messages, fmt.Sprint("message ", i))
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 3}}, sc.read().Acks); diff != "" {
		t.Fatalf("ack of the burst (-want +got):\n%s", diff)
	}
	// The next ack is for the next frame: nothing else was owed.
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 4, "4")}})
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 4}}, sc.read().Acks); diff != "" {
		t.Fatalf("ack after the burst (-want +got):\n%s", diff)
	}
}

func TestAckDelayHoldsAcksAndSendsOneForAll(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	cfg := rec.config(fs.URL(), t.TempDir(), t)
	cfg.AckDelay = time.Hour // only a full batch or another frame sends them
	c := mustNew(t, cfg)
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "OnConnected")

	// Three frames, each handled at once, acknowledged by none yet.
	for seq := uint64(1); seq <= 3; seq++ {
		sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, seq, fmt.Sprint(seq))}})
		wait(t, rec.messages, fmt.Sprint("message ", seq))
	}
	// A frame that may change the registrations settles what is owed
	// first: one ack for the three.
	sc.send(herald.Frame{Type: herald.FrameTokenRefresh, TokenRefresh: &herald.TokenRefresh{Old: "not-held", New: "other"}})
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 3}}, sc.read().Acks); diff != "" {
		t.Fatalf("ack after the token_refresh (-want +got):\n%s", diff)
	}

	// maxOwed entries are acknowledged at once, delay or not.
	var batch []herald.Message
	for seq := uint64(4); seq < 4+maxOwed; seq++ {
		batch = append(batch, msg(tok, seq, fmt.Sprint(seq)))
	}
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: batch})
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 3 + maxOwed}}, sc.read().Acks); diff != "" {
		t.Fatalf("ack of a full batch (-want +got):\n%s", diff)
	}
}

func TestAckDelaySendsTheAckWhenTheDelayEnds(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	cfg := rec.config(fs.URL(), t.TempDir(), t)
	cfg.AckDelay = 10 * time.Millisecond
	c := mustNew(t, cfg)
	tok := mustRegister(t, c, "app-1")
	startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "OnConnected")

	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a"), msg(tok, 2, "b")}})
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 2}}, sc.read().Acks); diff != "" {
		t.Fatalf("delayed ack (-want +got):\n%s", diff)
	}
}

func TestCancelSendsTheHeldAcksFirst(t *testing.T) {
	fs := newFakeServer(t)
	rec := newRecorder()
	cfg := rec.config(fs.URL(), "", t)
	cfg.AckDelay = time.Hour
	c := mustNew(t, cfg)
	tok := mustRegister(t, c, "app-1")
	stop := startRun(t, c)
	sc := fs.accept()
	sc.handshake(noPing)
	wait(t, rec.connected, "session")
	sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a")}})
	wait(t, rec.messages, "message")
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 1}}, sc.read().Acks); diff != "" {
		t.Fatalf("ack before the close (-want +got):\n%s", diff)
	}
	_, err := sc.tryRead()
	var ce wsutil.ClosedError
	if !errors.As(err, &ce) || ce.Code != ws.StatusNormalClosure {
		t.Fatalf("server read after the ack = %v, want a 1000 close", err)
	}
}

// Stopping Run while the app handles a message still acknowledges that
// message before the goodbye, held back (AckDelay) or not.
func TestCancelDuringACallbackAcksThatMessage(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("ack-delay=%v", delay), func(t *testing.T) {
			fs := newFakeServer(t)
			entered, release := make(chan struct{}), make(chan struct{})
			c := mustNew(t, Config{
				Server:    fs.URL(),
				AckDelay:  delay,
				OnMessage: func(context.Context, herald.Message) { entered <- struct{}{}; <-release },
			})
			tok := mustRegister(t, c, "app-1")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			sc := fs.accept()
			sc.handshake(noPing)
			sc.send(herald.Frame{Type: herald.FrameMessages, Messages: []herald.Message{msg(tok, 1, "a")}})
			wait(t, entered, "the callback")
			cancel()
			close(release)
			if err := wait(t, done, "Run to return"); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if diff := cmp.Diff([]herald.Ack{{Token: tok, Seq: 1}}, sc.read().Acks); diff != "" {
				t.Fatalf("ack before the close (-want +got):\n%s", diff)
			}
			_, err := sc.tryRead()
			var ce wsutil.ClosedError
			if !errors.As(err, &ce) || ce.Code != ws.StatusNormalClosure {
				t.Fatalf("server read after the ack = %v, want a 1000 close", err)
			}
		})
	}
}
