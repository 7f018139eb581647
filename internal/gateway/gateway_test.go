package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/internal/config"
	"github.com/heraldpush/herald/internal/heraldtest"
)

// These tests speak the device protocol with raw frames, as another SDK
// would, against a real server.

const waitTimeout = 15 * time.Second

type rawDevice struct {
	srv   *heraldtest.Server
	cred  herald.DeviceCredential
	token string
}

// register creates a project with an app and registers a device with it.
func register(t *testing.T, srv *heraldtest.Server) rawDevice {
	t.Helper()
	srv.CreateProject(t, "demo")
	appKey := srv.CreateApp(t, "demo")
	req, _ := http.NewRequest("POST", srv.URL+herald.PathRegister, nil)
	req.Header.Set(herald.AppKeyHeader, appKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rr herald.RegisterResponse
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil || rr.Device == nil {
		t.Fatalf("register: %v %+v", err, rr)
	}
	return rawDevice{srv: srv, cred: *rr.Device, token: rr.Token}
}

// send sends a data message with the admin credential on the FCM endpoint.
func (d rawDevice) send(t *testing.T, data map[string]string, priority string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"message": map[string]any{
		"token": d.token, "data": data, "android": map[string]any{"priority": priority},
	}})
	req, _ := http.NewRequest("POST", d.srv.URL+"/v1/projects/demo/messages:send", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.srv.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("send: %s %s", resp.Status, b)
	}
}

type wsConn struct {
	t  *testing.T
	nc net.Conn
	rw io.ReadWriter
}

func dial(t *testing.T, srv *heraldtest.Server) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	nc, br, _, err := ws.Dial(ctx, "ws://"+srv.Addr+herald.PathConnect)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var r io.Reader = nc
	if br != nil {
		r = br
	}
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	return &wsConn{t: t, nc: nc, rw: struct {
		io.Reader
		io.Writer
	}{bufio.NewReader(r), nc}}
}

func (c *wsConn) write(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeRaw(b)
}

func (c *wsConn) writeRaw(b []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientText(c.nc, b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next frame, or the close error.
func (c *wsConn) read() (herald.Frame, error) {
	c.t.Helper()
	b, _, err := wsutil.ReadServerData(c.rw)
	if err != nil {
		return herald.Frame{}, err
	}
	f, err := herald.DecodeFrame(b)
	if err != nil {
		c.t.Fatalf("server sent a bad frame %s: %v", b, err)
	}
	return f, nil
}

func (c *wsConn) mustRead(want herald.FrameType) herald.Frame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("reading %s frame: %v", want, err)
	}
	if f.Type != want {
		c.t.Fatalf("got %s frame %+v, want %s", f.Type, f, want)
	}
	return f
}

// closed waits for the server's close frame and returns its code.
func (c *wsConn) closed() (ws.StatusCode, string) {
	c.t.Helper()
	for {
		_, err := c.read()
		var ce wsutil.ClosedError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		if err != nil {
			c.t.Fatalf("want a close frame, got %v", err)
		}
	}
}

func (d rawDevice) hello(t *testing.T, acked uint64, state herald.AppState) *wsConn {
	t.Helper()
	c := dial(t, d.srv)
	c.write(herald.Frame{Type: herald.FrameHello, Hello: &herald.Hello{
		Version: herald.ProtocolVersion, DeviceID: d.cred.ID, DeviceSecret: d.cred.Secret, State: state,
		Registrations: []herald.Resume{{Token: d.token, Acked: acked}, {Token: "unknown-token"}},
	}})
	w := c.mustRead(herald.FrameWelcome).Welcome
	want := []herald.RegistrationStatus{{Token: d.token, Status: herald.StatusOK}, {Token: "unknown-token", Status: herald.StatusUnregistered}}
	if got, _ := json.Marshal(w.Registrations); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("welcome registrations %s, want %s", got, must(json.Marshal(want)))
	}
	if w.PingIntervalMillis != d.srv.Config.PingInterval.Milliseconds() || w.TopicAckMillis != d.srv.Config.TopicAckHold.Milliseconds() || w.SessionID == "" {
		t.Fatalf("welcome %+v", w)
	}
	return c
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestUnackedMessagesAreRedeliveredAndAckedOnesAreNot(t *testing.T) {
	// (A topic ack hold, for hello's check of the welcome.)
	srv := heraldtest.Start(t, func(c *config.Config) { c.TopicAckHold = 7 * time.Second })
	d := register(t, srv)
	d.send(t, map[string]string{"n": "1"}, "high")
	d.send(t, map[string]string{"n": "2"}, "high")

	c := d.hello(t, 0, "")
	var got []string
	for len(got) < 2 {
		for _, m := range c.mustRead(herald.FrameMessages).Messages {
			got = append(got, m.Data["n"])
		}
	}
	c.nc.Close() // no ack

	c = d.hello(t, 0, "") // everything comes again
	var again []herald.Message
	for len(again) < 2 {
		again = append(again, c.mustRead(herald.FrameMessages).Messages...)
	}
	if again[0].Seq != 1 || again[0].Data["n"] != "1" || again[1].Seq != 2 {
		t.Fatalf("redelivered %+v", again)
	}
	c.write(herald.Frame{Type: herald.FrameAck, Acks: []herald.Ack{{Token: d.token, Seq: 1}}})
	c.write(herald.Frame{Type: herald.FramePing})
	c.mustRead(herald.FramePong) // the ack was processed before the ping
	c.nc.Close()

	// Seq 1 was acked; a resume point of 2 in hello drops seq 2 as well.
	c = d.hello(t, 2, "")
	d.send(t, map[string]string{"n": "3"}, "high")
	if m := c.mustRead(herald.FrameMessages).Messages[0]; m.Seq != 3 || m.Data["n"] != "3" {
		t.Fatalf("after acks, got %+v, want seq 3", m)
	}
}

func TestNormalPriorityIsHeldInBackgroundUntilAHighOne(t *testing.T) {
	srv := heraldtest.Start(t, func(c *config.Config) { c.NormalBatchWindow = time.Hour })
	d := register(t, srv)
	c := d.hello(t, 0, herald.Background)
	d.send(t, map[string]string{"n": "normal"}, "normal")
	// The ping is answered before the held message goes out.
	c.write(herald.Frame{Type: herald.FramePing})
	c.mustRead(herald.FramePong)
	d.send(t, map[string]string{"n": "high"}, "high")
	var got []string
	for len(got) < 2 {
		for _, m := range c.mustRead(herald.FrameMessages).Messages {
			got = append(got, m.Data["n"]+"/"+string(m.Priority))
		}
	}
	if strings.Join(got, ",") != "normal/normal,high/high" {
		t.Fatalf("got %v: the held normal message must go out first, with the high one", got)
	}

	// In the foreground nothing is held.
	c.write(herald.Frame{Type: herald.FrameState, State: herald.Foreground})
	c.write(herald.Frame{Type: herald.FramePing})
	c.mustRead(herald.FramePong)
	d.send(t, map[string]string{"n": "fg"}, "normal")
	if m := c.mustRead(herald.FrameMessages).Messages[0]; m.Data["n"] != "fg" {
		t.Fatalf("got %+v", m)
	}
}

func TestBadFramesCloseWithTheProtocolsCodes(t *testing.T) {
	srv := heraldtest.Start(t)
	d := register(t, srv)
	hello := func(v int, secret string) herald.Frame {
		return herald.Frame{Type: herald.FrameHello, Hello: &herald.Hello{Version: v, DeviceID: d.cred.ID, DeviceSecret: secret}}
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		code  ws.StatusCode
	}{
		{"not JSON", []byte("{nope"), herald.CloseBadFrame},
		{"invalid UTF-8", []byte("{\"type\":\"ping\xff\"}"), herald.CloseBadFrame},
		{"unknown member", []byte(`{"type":"ping","extra":1}`), herald.CloseBadFrame},
		{"ping before hello", []byte(`{"type":"ping"}`), herald.CloseBadFrame},
		{"wrong version", must(json.Marshal(hello(99, d.cred.Secret))), herald.CloseUnsupportedVersion},
		{"wrong secret", must(json.Marshal(hello(1, "wrong"))), herald.CloseUnauthorized},
		{"too large", bytes.Repeat([]byte("x"), herald.MaxFrameSize+1), herald.CloseFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, srv)
			c.writeRaw(tc.frame)
			if code, reason := c.closed(); code != tc.code || reason == "" {
				t.Fatalf("closed with %d %q, want %d and a reason", code, reason, tc.code)
			}
		})
	}
	t.Run("server frame from the device", func(t *testing.T) {
		c := d.hello(t, 0, "")
		c.write(herald.Frame{Type: herald.FrameGoAway, GoAway: &herald.GoAway{Reason: "x"}})
		if code, _ := c.closed(); code != herald.CloseBadFrame {
			t.Fatalf("closed with %d, want %d", code, herald.CloseBadFrame)
		}
	})
}

func TestSilentDeviceIsClosedAfterTwoPingIntervals(t *testing.T) {
	srv := heraldtest.Start(t, func(c *config.Config) { c.PingInterval = time.Second })
	d := register(t, srv)
	c := d.hello(t, 0, "")
	if code, _ := c.closed(); code != herald.CloseHeartbeatTimeout {
		t.Fatalf("closed with %d, want %d", code, herald.CloseHeartbeatTimeout)
	}
}

func TestSecondConnectionReplacesTheFirst(t *testing.T) {
	srv := heraldtest.Start(t)
	d := register(t, srv)
	first := d.hello(t, 0, "")
	second := d.hello(t, 0, "")
	if code, _ := first.closed(); code != herald.CloseReplaced {
		t.Fatalf("first connection closed with %d, want %d", code, herald.CloseReplaced)
	}
	d.send(t, map[string]string{"n": "1"}, "high")
	second.mustRead(herald.FrameMessages)
}

func TestShutdownSendsGoAway(t *testing.T) {
	srv := heraldtest.Start(t)
	d := register(t, srv)
	c := d.hello(t, 0, "")
	srv.Stop(t)
	g := c.mustRead(herald.FrameGoAway).GoAway
	if g.ReconnectAfterMillis < 0 || g.ReconnectAfterMillis > 5000 || g.Reason == "" {
		t.Fatalf("goaway %+v", g)
	}
	if code, _ := c.closed(); code != herald.CloseGoingAway {
		t.Fatalf("closed with %d, want %d", code, herald.CloseGoingAway)
	}
}

// A hello read late on an older connection (the device had already given
// it up and connected again) must not replace the newer connection.
func TestOlderConnectionDoesNotReplaceANewerOne(t *testing.T) {
	srv := heraldtest.Start(t)
	d := register(t, srv)
	older := dial(t, srv)
	newer := dial(t, srv)
	hello := herald.Frame{Type: herald.FrameHello, Hello: &herald.Hello{
		Version: herald.ProtocolVersion, DeviceID: d.cred.ID, DeviceSecret: d.cred.Secret,
		Registrations: []herald.Resume{{Token: d.token}},
	}}
	newer.write(hello)
	newer.mustRead(herald.FrameWelcome)
	older.write(hello)
	if code, _ := older.closed(); code != herald.CloseReplaced {
		t.Fatalf("older connection closed with %d, want %d", code, herald.CloseReplaced)
	}
	d.send(t, map[string]string{"n": "1"}, "high")
	if m := newer.mustRead(herald.FrameMessages).Messages[0]; m.Data["n"] != "1" {
		t.Fatalf("newer connection got %+v", m)
	}
}
