package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/heraldpush/herald"
	"github.com/heraldpush/herald/client"
)

// Parameters of the crash test.
const (
	crashCycles    = 16                     // SIGKILLs per run (issue 2 asks for at least 5); HERALD_CRASH_CYCLES overrides
	crashDevices   = 4                      // client SDK devices, one registration each
	crashSenders   = 8                      // concurrent app-server goroutines
	crashKillMin   = 50 * time.Millisecond  // the kill comes this long…
	crashKillMax   = 400 * time.Millisecond // …to this long after the cycle's first 200
	crashDrainWait = 60 * time.Second       // failsafe: all 200-answered messages delivered
	crashStartWait = 60 * time.Second       // failsafe: the server process is listening
	crashProject   = "crash"
)

// TestCrashKillRestartExactlyOnce is the crash test of issue 2. It runs
// `herald serve` as a child process, sends to four devices at full speed
// from eight goroutines recording every message answered 200, kills the
// server with SIGKILL at a random moment, restarts it on the same data
// directory and port, lets the devices reconnect by themselves and waits
// until every 200-answered message has reached its device's app callback.
// At the end each of them must have reached the right device exactly once,
// in acceptance order. Some cycles also restart a device's SDK (a new
// Client on the same StateDir), either while the server is down or in the
// middle of the sending.
//
// Set HERALD_CRASH_SEED to replay the kill moments of an earlier run (the
// seed is logged), HERALD_CRASH_CYCLES to run more cycles (a soak).
//
// Each device's connection is tapped (see wireTap): the test counts the
// redeliveries the SDK absorbed, and when a message is missing it logs
// what the device received on the wire around the restart.
func TestCrashKillRestartExactlyOnce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HERALD_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("HERALD_CRASH_SEED=%q: %v", s, err)
		}
	}
	cycles := crashCycles
	if s := os.Getenv("HERALD_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("HERALD_CRASH_CYCLES=%q: want a positive number", s)
		}
		cycles = n
	}
	t.Logf("seed %d (HERALD_CRASH_SEED=%d replays the kill moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	begin := time.Now()

	bin := buildHerald(t)
	srv := &childServer{t: t, bin: bin, dataDir: filepath.Join(t.TempDir(), "data"), addr: freeLoopbackAddr(t)}
	t.Cleanup(srv.kill) // registered first: runs after the devices stopped
	srv.start()
	base := "http://" + srv.addr

	adminTok := readAdminToken(t, srv.dataDir)
	adminCall(t, base, adminTok, "POST", "/admin/v1/projects", map[string]string{"id": crashProject}, nil)
	var app struct {
		Key string `json:"key"`
	}
	adminCall(t, base, adminTok, "POST", "/admin/v1/projects/"+crashProject+"/apps", map[string]string{"name": "crash"}, &app)
	var key struct {
		ServiceAccount json.RawMessage `json:"service_account"`
	}
	adminCall(t, base, adminTok, "POST", "/admin/v1/projects/"+crashProject+"/keys", struct{}{}, &key)
	access := accessToken(t, key.ServiceAccount)

	led := newLedger(crashDevices)
	devs := make([]*crashDevice, crashDevices)
	for i := range devs {
		devs[i] = &crashDevice{idx: i, server: base, appKey: app.Key, dir: t.TempDir(), led: led}
		devs[i].start(t)
		t.Cleanup(func() { devs[i].stop(t) })
	}
	tokens := make([]string, crashDevices)
	for i, d := range devs {
		tokens[i] = d.token
	}
	led.setTokens(tokens)

	tr := &http.Transport{MaxIdleConnsPerHost: crashSenders}
	defer tr.CloseIdleConnections()
	snd := &sender{
		hc:     &http.Client{Transport: tr, Timeout: 30 * time.Second},
		url:    base + "/v1/projects/" + crashProject + "/messages:send",
		access: access,
		tokens: tokens,
		led:    led,
	}

	for cycle := range cycles {
		cycleStart := time.Now()
		mode := cycleMode(cycle % 4)
		dev := devs[(cycle+cycle/4)%crashDevices] // every device gets every mode
		if mode == deviceOffline {
			dev.stop(t) // its messages pend on the server's disk only
		}
		stop := make(chan struct{})
		first := make(chan struct{})
		var firstOnce sync.Once
		var wg sync.WaitGroup
		var stats sendStats
		for s := range crashSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				snd.loop(s, stop, &stats, func() { firstOnce.Do(func() { close(first) }) })
			}()
		}
		select {
		case <-first:
		case <-time.After(crashStartWait):
			close(stop)
			wg.Wait()
			t.Fatalf("cycle %d: no send answered 200 within %v (%s)", cycle, crashStartWait, stats.String())
		}
		if mode == deviceRestartUnderLoad {
			dev.restart(t)
		}
		delay := crashKillMin + time.Duration(rng.Int64N(int64(crashKillMax-crashKillMin)))
		// Waiting here is the test's subject, not a synchronisation: the
		// server dies at a random moment of the sending.
		<-time.After(delay)
		srv.kill()
		close(stop)
		wg.Wait()
		tr.CloseIdleConnections()

		if mode == deviceRestartWhileDown {
			dev.restart(t)
		}
		led.restarted()
		srv.start()
		if mode == deviceOffline {
			dev.start(t)
		}
		drained, ok := led.waitDelivered(t, crashDrainWait)
		outcome := "all delivered"
		if !ok {
			outcome = "NOT all delivered"
		}
		t.Logf("cycle %d (%s): killed after %v; %s; %s %v after the restart (cycle %v)",
			cycle, mode.describe(dev.idx), delay.Round(time.Millisecond), stats.String(),
			outcome, drained.Round(time.Millisecond), time.Since(cycleStart).Round(time.Millisecond))
		if n := led.problemCount(); n > 0 {
			t.Errorf("cycle %d: %d problems (listed at the end); no more cycles", cycle, n)
		}
		if t.Failed() {
			break
		}
	}

	for _, d := range devs {
		d.stop(t)
	}
	led.check(t)
	verdict := "all delivered exactly once"
	if t.Failed() {
		verdict = "NOT all delivered exactly once"
	}
	t.Logf("%d kills in %v: %d messages answered 200, %s; %d more delivered whose answer was lost in a crash; "+
		"%d redeliveries on the wire absorbed by the SDK; %d device SDK restarts",
		srv.kills, time.Since(begin).Round(time.Millisecond), led.sentCount(), verdict, led.unrecorded(),
		led.wireDuplicates(), restarts(devs))
}

// cycleMode says what a device does during a kill cycle.
type cycleMode int

const (
	devicesKeepRunning     cycleMode = iota // only the server dies
	deviceRestartWhileDown                  // one SDK restarts (new Client, same StateDir) while the server is down
	deviceRestartUnderLoad                  // one SDK restarts in the middle of the sending
	deviceOffline                           // one device is off during the sending, back after the server restart
)

// describe names the mode for the log.
func (m cycleMode) describe(dev int) string {
	switch m {
	case deviceRestartWhileDown:
		return fmt.Sprintf("device %d restarted while the server was down", dev)
	case deviceRestartUnderLoad:
		return fmt.Sprintf("device %d restarted under load", dev)
	case deviceOffline:
		return fmt.Sprintf("device %d offline during the sending", dev)
	}
	return "devices kept running"
}

// buildHerald builds cmd/herald into a temporary directory, with the race
// detector if this test binary has it, and returns the binary's path.
func buildHerald(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "herald")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/herald")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return bin
}

// raceEnabled reports whether this binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// freeLoopbackAddr returns a 127.0.0.1 address whose port was free a moment
// ago (the kernel picked it). The server is restarted on it after each kill:
// the devices know only this URL.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// childServer is `herald serve` running as a child process.
type childServer struct {
	t       *testing.T
	bin     string
	dataDir string
	addr    string
	args    []string // more serve flags
	kills   int

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process was reaped
}

// start runs the server and waits for its "listening on" line on stderr.
// Its stderr goes to the test log.
func (s *childServer) start() {
	t := s.t
	t.Helper()
	cmd := exec.Command(s.bin, append([]string{"serve", "--listen", s.addr, "--data", s.dataDir,
		"--ping-interval", "1s",
		// Devices are disconnected during every restart and all the
		// messages sent meanwhile pend: the pending limit (and its
		// deleted-messages event) is not what this test is about.
		"--max-pending", "1000000",
		// Full-speed sends to four devices exceed the rate limits per
		// device (and may exceed the project quota): not what this test
		// is about either.
		"--device-rate-minute", "0", "--device-rate-hour", "0", "--project-quota", "0",
		"--log-level", "warn"}, s.args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting herald serve: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	ready := make(chan struct{})
	var tail lineTail
	go func() {
		defer close(s.exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			tail.add(line)
			t.Logf("herald[%d]: %s", cmd.Process.Pid, line)
			if strings.Contains(line, "WARNING: DATA RACE") {
				t.Errorf("the server process reported a data race (see its log)")
			}
			if !signalled && strings.Contains(line, "herald: listening on ") {
				signalled = true
				close(ready)
			}
		}
		// Wait only after every read from the pipe is done (os/exec).
		_ = cmd.Wait()
	}()
	select {
	case <-ready:
	case <-s.exited:
		t.Fatalf("herald serve exited before listening (%v); stderr:\n%s", cmd.ProcessState, tail.String())
	case <-time.After(crashStartWait):
		s.kill()
		t.Fatalf("herald serve not listening after %v; stderr:\n%s", crashStartWait, tail.String())
	}
}

// kill sends SIGKILL and reaps the process; it does nothing if the server
// is not running.
func (s *childServer) kill() {
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Logf("SIGKILL: %v", err)
	}
	<-s.exited
	s.cmd = nil
	s.kills++
}

// lineTail keeps the last lines of a log.
type lineTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineTail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > 40 {
		l.lines = l.lines[1:]
	}
}

func (l *lineTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// readAdminToken reads the admin credential the server created.
func readAdminToken(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// adminCall calls the admin API of the child server and decodes the answer
// into out (if not nil). Any status but 200 fails the test.
func adminCall(t *testing.T, base, token, method, path string, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, body, err)
		}
	}
}

// accessToken gets an OAuth2 access token from the server's token endpoint
// (the token_uri of the service-account file) with the JWT-bearer grant.
// Access tokens are signed with the server key in the data directory, so
// this one stays valid across the restarts.
func accessToken(t *testing.T, serviceAccount []byte) string {
	t.Helper()
	cfg, err := google.JWTConfigFromJSON(serviceAccount, "https://www.googleapis.com/auth/firebase.messaging")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.TokenSource(context.Background()).Token()
	if err != nil {
		t.Fatalf("token endpoint: %v", err)
	}
	return tok.AccessToken
}

// sender posts FCM v1 send requests with plain net/http: unlike the
// Firebase Admin SDK it never retries, so each request is one send whose
// outcome is known (200 with a message name) or unknown (anything else).
type sender struct {
	hc     *http.Client
	url    string
	access string
	tokens []string
	led    *ledger
}

// sendStats counts the outcomes of a cycle's sends.
type sendStats struct {
	ok, refused, other atomic.Int64
}

func (s *sendStats) String() string {
	return fmt.Sprintf("%d answered 200, %d refused or reset by the dying server, %d other errors",
		s.ok.Load(), s.refused.Load(), s.other.Load())
}

// loop sends as fast as the server answers until stop is closed, to the
// devices in turn. Each message carries "n" = "sender-counter" (unique in
// the run); a message answered 200 is recorded in the ledger before the
// next send. firstOK is called after each 200.
func (s *sender) loop(id int, stop <-chan struct{}, stats *sendStats, firstOK func()) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := s.led.nextCounter(id)
		dev := (id + n) % len(s.tokens)
		tag := strconv.Itoa(id) + "-" + strconv.Itoa(n)
		msgID, err := s.send(s.tokens[dev], tag)
		switch {
		case err == nil:
			s.led.sent(msgID, dev, tag)
			stats.ok.Add(1)
			firstOK()
		case isConnErr(err):
			stats.refused.Add(1)
		default:
			stats.other.Add(1)
			s.led.problem("send %s: %v", tag, err)
		}
	}
}

// httpStatusError is a send answered with another status than 200.
type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// isConnErr reports an error expected from a server being killed: no
// connection, a connection reset or closed in the middle of a request.
// A 503 UNAVAILABLE would be legitimate too; a SIGKILLed server never gets
// to send one, but it is accepted (not recorded as sent).
func isConnErr(err error) bool {
	if se, ok := err.(*httpStatusError); ok {
		return se.code == http.StatusServiceUnavailable
	}
	return true // transport errors: refused, reset, EOF
}

// send posts one message and returns its ID (the last part of the name
// projects/P/messages/ID, which the device sees as herald.Message.ID).
func (s *sender) send(token, tag string) (string, error) {
	return postMessage(s.hc, s.url, s.access, map[string]any{
		"token":   token,
		"data":    map[string]string{"n": tag},
		"android": map[string]string{"priority": "high"},
	})
}

// postMessage posts one FCM v1 message to url (the crash project's
// messages:send) and returns its ID.
func postMessage(hc *http.Client, url, access string, msg map[string]any) (string, error) {
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &httpStatusError{code: resp.StatusCode, body: string(b)}
	}
	var ans struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return "", fmt.Errorf("decoding %s: %w", b, err)
	}
	prefix := "projects/" + crashProject + "/messages/"
	if !strings.HasPrefix(ans.Name, prefix) || len(ans.Name) == len(prefix) {
		return "", fmt.Errorf("200 with name %q, want %sID", ans.Name, prefix)
	}
	return ans.Name[len(prefix):], nil
}

// crashLedger is what a crashDevice reports to: its app callbacks, what
// its connections carried, and what must not happen.
type crashLedger interface {
	received(dev int, m herald.Message)
	wire(dev int, id string, seq uint64)
	problem(format string, args ...any)
}

// crashDevice is one device: a client SDK instance with a state directory
// that survives its restarts, running for the whole test.
type crashDevice struct {
	idx      int
	server   string
	appKey   string
	dir      string
	led      crashLedger
	token    string
	restarts int

	c      *client.Client
	cancel context.CancelFunc
	done   chan error
}

// start creates the Client on the device's state directory, registers the
// app (a network call only the first time) and runs the connection.
func (d *crashDevice) start(t *testing.T) {
	t.Helper()
	c, err := client.New(client.Config{
		Server:    d.server,
		StateDir:  d.dir,
		OnMessage: func(_ context.Context, m herald.Message) { d.led.received(d.idx, m) },
		OnDeletedMessages: func(tok string, n int) {
			d.led.problem("device %d: %d messages of %s deleted", d.idx, n, tok)
		},
		OnNewToken: func(_, tok string) {
			d.led.problem("device %d: token replaced by %s (the server forgot the registration)", d.idx, tok)
		},
		Backoff: client.BackoffConfig{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &wireTap{Conn: c, dev: d.idx, led: d.led}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Register(context.Background(), d.appKey)
	if err != nil {
		t.Fatalf("device %d: register: %v", d.idx, err)
	}
	if d.token != "" && tok != d.token {
		t.Fatalf("device %d: token %q after the SDK restart, want %q", d.idx, tok, d.token)
	}
	if d.token != "" {
		d.restarts++
	}
	d.token = tok
	ctx, cancel := context.WithCancel(context.Background())
	d.c, d.cancel, d.done = c, cancel, make(chan error, 1)
	go func() { d.done <- c.Run(ctx) }()
}

// stop ends Run and saves the SDK state, as an app closing does; it is
// idempotent.
func (d *crashDevice) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	if err := <-d.done; err != nil {
		t.Errorf("device %d: Run: %v", d.idx, err)
	}
	if err := d.c.Close(); err != nil {
		t.Errorf("device %d: Close: %v", d.idx, err)
	}
}

// restart stops the SDK and starts a new Client on the same state
// directory.
func (d *crashDevice) restart(t *testing.T) {
	t.Helper()
	d.stop(t)
	d.start(t)
}

func restarts(devs []*crashDevice) int {
	n := 0
	for _, d := range devs {
		n += d.restarts
	}
	return n
}

// wireTap is a device connection that reports each message the server
// writes to it (its ID and seq) to the ledger, before the SDK sees it: the
// SDK drops duplicates, the tap does not. Server→device WebSocket frames
// are neither masked nor compressed, so the messages frames' JSON
// ({"id":"…","seq":N,…}, the order dispatch writes) is readable in the
// byte stream. It is a diagnostic; the verdict comes from the callbacks.
type wireTap struct {
	net.Conn
	dev   int
	led   crashLedger
	carry []byte // unmatched tail of the previous reads
}

// wireMsgRE matches the start of a message in a messages frame: its seq,
// or its tseq for a topic message. The comma after the number makes sure
// its digits are complete.
var wireMsgRE = regexp.MustCompile(`\{"id":"([^"]+)","t?seq":(\d+),`)

func (c *wireTap) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.carry = append(c.carry, p[:n]...)
	end := 0
	for _, m := range wireMsgRE.FindAllSubmatchIndex(c.carry, -1) {
		seq, _ := strconv.ParseUint(string(c.carry[m[4]:m[5]]), 10, 64)
		c.led.wire(c.dev, string(c.carry[m[2]:m[3]]), seq)
		end = m[1]
	}
	c.carry = c.carry[end:]
	if len(c.carry) > 256 { // longer than any message start
		c.carry = append(c.carry[:0], c.carry[len(c.carry)-256:]...)
	}
	return n, err
}

// sentMsg is a message answered 200.
type sentMsg struct {
	dev int
	tag string
}

// ledger records what was answered 200 and what reached the app callbacks.
type ledger struct {
	mu       sync.Mutex
	counters map[int]int        // sender → next counter
	sentBy   map[string]sentMsg // message ID → where and what
	got      map[string]int     // message ID → app callbacks
	gotBy    map[string]sentMsg // message ID → device and tag of its first callback
	tokens   []string           // device → its registration token
	lastSeq  []uint64           // device → seq of its last callback
	lastN    []map[int]int      // device → sender → counter of its last callback
	problems []string
	progress chan struct{} // signalled (non-blocking) after each callback

	sentIn map[string]int // message ID → server process (onWire.incarnation) that answered 200
	onWire wireLog
}

func newLedger(devices int) *ledger {
	l := &ledger{
		counters: make(map[int]int),
		sentBy:   make(map[string]sentMsg),
		got:      make(map[string]int),
		gotBy:    make(map[string]sentMsg),
		lastSeq:  make([]uint64, devices),
		lastN:    make([]map[int]int, devices),
		progress: make(chan struct{}, 1),
		sentIn:   make(map[string]int),
		onWire:   newWireLog(),
	}
	for i := range l.lastN {
		l.lastN[i] = make(map[int]int)
	}
	return l
}

// setTokens tells the ledger each device's registration token.
func (l *ledger) setTokens(tokens []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = slices.Clone(tokens)
}

func (l *ledger) nextCounter(sender int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.counters[sender]
	l.counters[sender] = n + 1
	return n
}

// sent records a message answered 200.
func (l *ledger) sent(id string, dev int, tag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, dup := l.sentBy[id]; dup {
		l.problems = append(l.problems, fmt.Sprintf("message ID %s answered for %s and for %s", id, prev.tag, tag))
	}
	l.sentBy[id] = sentMsg{dev: dev, tag: tag}
	l.sentIn[id] = l.onWire.incarnation
}

// restarted marks that a new server process starts; the senders are
// stopped.
func (l *ledger) restarted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onWire.restarted(len(l.lastSeq))
}

// wire records a message written by the server to device dev.
func (l *ledger) wire(dev int, id string, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onWire.add(dev, id, seq)
}

// wireDuplicates counts the messages written to a device more than once.
func (l *ledger) wireDuplicates() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.onWire.duplicates()
}

// wireAround logs what device dev received on the wire around the start of
// server process inc. Called with mu held.
func (l *ledger) wireAround(t *testing.T, dev, inc int) {
	t.Helper()
	around := l.onWire.around(dev, inc, func(e wireEvent) string {
		_, ok := l.sentBy[e.id]
		return fmt.Sprintf("seq %d id %s (answered 200: %v, app callbacks: %d)", e.seq, e.id, ok, l.got[e.id])
	})
	t.Logf("device %d on the wire around the start of server process %d:%s", dev, inc, around)
}

// problem records something that must not happen.
func (l *ledger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 50 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// problemCount returns how many problems were recorded.
func (l *ledger) problemCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.problems)
}

// received records an app callback on device dev. It runs on the device's
// Run goroutine, one message at a time.
func (l *ledger) received(dev int, m herald.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got[m.ID]++
	if l.got[m.ID] == 1 {
		l.gotBy[m.ID] = sentMsg{dev: dev, tag: m.Data["n"]}
	}
	bad := func(format string, args ...any) {
		if len(l.problems) < 50 {
			l.problems = append(l.problems, fmt.Sprintf("device %d, message %s (seq %d, n %q): ", dev, m.ID, m.Seq, m.Data["n"])+fmt.Sprintf(format, args...))
		}
	}
	if c := l.got[m.ID]; c > 1 {
		bad("app callback number %d (duplicate)", c)
	}
	if m.Seq <= l.lastSeq[dev] {
		bad("seq after %d in the app callbacks", l.lastSeq[dev])
	}
	l.lastSeq[dev] = max(l.lastSeq[dev], m.Seq)
	if m.Token != l.tokens[dev] {
		bad("token %s, not the device's", m.Token)
	}
	// A sender sends one message at a time: its messages to a device must
	// arrive in its sending order (Herald keeps the acceptance order).
	snd, cnt, ok := parseTag(m.Data["n"])
	if !ok {
		bad("data n is not sender-counter")
	} else {
		if last, seen := l.lastN[dev][snd]; seen && cnt <= last {
			bad("after message %d-%d (out of acceptance order)", snd, last)
		}
		l.lastN[dev][snd] = max(l.lastN[dev][snd], cnt)
	}
	select {
	case l.progress <- struct{}{}:
	default:
	}
}

func parseTag(tag string) (sender, counter int, ok bool) {
	a, b, found := strings.Cut(tag, "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(a)
	c, err2 := strconv.Atoi(b)
	return s, c, err1 == nil && err2 == nil
}

// missing returns the IDs answered 200 that no app callback received yet.
func (l *ledger) missing() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id := range l.sentBy {
		if l.got[id] == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// waitDelivered waits until every message answered 200 so far reached an
// app callback, and returns how long that took. After the failsafe timeout
// it fails the test with what is missing and returns false.
func (l *ledger) waitDelivered(t *testing.T, timeout time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	failsafe := time.NewTimer(timeout)
	defer failsafe.Stop()
	for {
		miss := l.missing()
		if len(miss) == 0 {
			return time.Since(start), true
		}
		select {
		case <-l.progress:
		case <-failsafe.C:
			miss = l.missing()
			t.Errorf("%d messages answered 200 not delivered %v after the restart: %s", len(miss), timeout, l.describe(miss))
			return time.Since(start), false
		}
	}
}

// describe lists some messages with their device and tag.
func (l *ledger) describe(ids []string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(ids)
	var b strings.Builder
	for i, id := range ids {
		if i == 20 {
			fmt.Fprintf(&b, " … (%d more)", len(ids)-i)
			break
		}
		s := l.sentBy[id]
		fmt.Fprintf(&b, " %s(device %d, n %s)", id, s.dev, s.tag)
	}
	return b.String()
}

// check fails the test on any problem: a duplicate callback, a message on
// the wrong device or out of order, a message answered 200 and never
// delivered, an unexpected send error.
func (l *ledger) check(t *testing.T) {
	t.Helper()
	miss := l.missing()
	if len(miss) > 0 {
		t.Errorf("%d messages answered 200 never reached the app: %s", len(miss), l.describe(miss))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range miss {
		if i == 3 {
			break
		}
		s, inc := l.sentBy[id], l.sentIn[id]
		t.Logf("missing %s: answered 200 by server process %d, sent to device %d, on its wire: %v", id, inc, s.dev, l.onWire.carried(s.dev, id))
		l.wireAround(t, s.dev, inc)
	}
	dups := 0
	for _, c := range l.got {
		if c > 1 {
			dups += c - 1
		}
	}
	if dups > 0 {
		t.Errorf("%d duplicate app callbacks", dups)
	}
	wrong := 0
	for id, s := range l.sentBy {
		if g, ok := l.gotBy[id]; ok && g != s {
			if wrong++; wrong <= 20 {
				t.Errorf("message %s: sent to device %d with n %s, delivered to device %d with n %s", id, s.dev, s.tag, g.dev, g.tag)
			}
		}
	}
	for _, p := range l.problems {
		t.Error(p)
	}
}

func (l *ledger) sentCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sentBy)
}

// unrecorded counts messages delivered whose send was not answered 200 (the
// server stored them, then died before the answer went out).
func (l *ledger) unrecorded() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id := range l.got {
		if _, ok := l.sentBy[id]; !ok {
			n++
		}
	}
	return n
}
