package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/heraldpush/herald"
)

// stateFileName is the file under Config.StateDir that holds the device
// credential, the registrations and the dedupe state.
const stateFileName = "state.json"

// state is what the SDK remembers between runs. It is guarded by Client.mu.
type state struct {
	Device *herald.DeviceCredential `json:"device,omitempty"`
	// Registrations maps an app key to its registration. An entry with an
	// empty Token is an app whose token was lost (the server forgot the
	// device or the token); Run registers it again and reports the new
	// token through OnNewToken.
	Registrations map[string]*registration `json:"registrations"`

	// tokens maps each token of Registrations to its app key: the frames
	// name tokens, a message frame one per message. Registrations and
	// their tokens change only through the methods below, which keep it
	// in step.
	tokens map[string]string
	// seen memoises byToken's last answer: a device's messages name the
	// same token one after the other, and a comparison with the token
	// already found (most often the very same string: the frame decoder
	// interns tokens) is cheaper than two map lookups. The methods that
	// change the index forget it.
	seen struct {
		token, appKey string
		r             *registration
	}
}

// registration is one app's registration on this device.
type registration struct {
	Token     string `json:"token"`
	ProjectID string `json:"project_id,omitempty"`
	// LastHandled is the highest sequence of Token whose callbacks have run
	// (the dedupe mark and the hello resume point).
	LastHandled uint64 `json:"last_handled,omitempty"`
	// LastHandledTopic is the same for Token's topic stream: the highest
	// topic log position (Message.TopicSeq) whose callbacks have run. The
	// positions are the project's, so it survives a refresh of Token (the
	// server moves the subscriptions and the cursor to the new token).
	LastHandledTopic uint64 `json:"last_handled_topic,omitempty"`
	// WebPush holds the private keys of the token's Web Push
	// subscriptions (webpush.go), by push endpoint ID.
	WebPush map[string]*webPushKeys `json:"webpush,omitempty"`
}

func newState() *state {
	return &state{Registrations: make(map[string]*registration), tokens: make(map[string]string)}
}

// byToken returns the registration holding token and its app key, or nil.
func (s *state) byToken(token string) (appKey string, r *registration) {
	if s.seen.r != nil && s.seen.token == token {
		return s.seen.appKey, s.seen.r
	}
	appKey, ok := s.tokens[token]
	if !ok {
		return "", nil
	}
	r = s.Registrations[appKey]
	s.seen.token, s.seen.appKey, s.seen.r = token, appKey, r
	return appKey, r
}

// put makes r the registration of appKey.
func (s *state) put(appKey string, r *registration) {
	s.seen.r = nil
	if old := s.Registrations[appKey]; old != nil {
		s.unindex(appKey, old.Token)
	}
	s.Registrations[appKey] = r
	if r.Token != "" {
		s.tokens[r.Token] = appKey
	}
}

// setToken gives the registration of appKey a new token, which starts its
// own sequence: its dedupe mark is zero. The topic mark stays (topic log
// positions are the project's, and the server moves the topic cursor to
// the new token).
func (s *state) setToken(appKey, token string) {
	r := s.Registrations[appKey]
	s.unindex(appKey, r.Token)
	r.Token, r.LastHandled = token, 0
	s.tokens[token] = appKey
}

// remove forgets appKey: Run will not register it again.
func (s *state) remove(appKey string) {
	if r := s.Registrations[appKey]; r != nil {
		s.unindex(appKey, r.Token)
		delete(s.Registrations, appKey)
	}
}

// lose drops the token of appKey (and all that goes with it), keeping the
// app key so that Run registers it again.
func (s *state) lose(appKey string) {
	r := s.Registrations[appKey]
	s.unindex(appKey, r.Token)
	*r = registration{}
}

// forgetDevice drops the device credential and every token, keeping the app
// keys so that they can be registered again.
func (s *state) forgetDevice() {
	s.Device = nil
	for k := range s.Registrations {
		s.lose(k)
	}
}

// unindex drops token from the index if it points at appKey.
func (s *state) unindex(appKey, token string) {
	s.seen.r = nil
	if token != "" && s.tokens[token] == appKey {
		delete(s.tokens, token)
	}
}

// stateStore reads and writes state.json. A zero dir keeps nothing.
type stateStore struct {
	dir string
}

// load reads the state; a missing file is an empty state.
func (st stateStore) load() (*state, error) {
	s := newState()
	if st.dir == "" {
		return s, nil
	}
	b, err := os.ReadFile(filepath.Join(st.dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(st.dir, stateFileName), err)
	}
	if s.Registrations == nil {
		s.Registrations = make(map[string]*registration)
	}
	for k, r := range s.Registrations {
		if r == nil {
			r = &registration{}
		}
		s.put(k, r)
	}
	return s, nil
}

// save writes b (the encoded state) atomically: a temporary file in the
// same directory, fsync'd, renamed over state.json, then the directory is
// fsync'd so that the rename itself survives a crash.
func (st stateStore) save(b []byte) error {
	if st.dir == "" {
		return nil
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	f, err := os.CreateTemp(st.dir, stateFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(st.dir, stateFileName)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	ok = true
	d, err := os.Open(st.dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state: sync directory: %w", err)
	}
	return nil
}
