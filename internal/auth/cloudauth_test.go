package auth

import (
	"testing"

	"cloud.google.com/go/auth/credentials"
	"github.com/google/go-cmp/cmp"
)

// TestCloudAuthLibrary gets a token with cloud.google.com/go/auth, the
// library under the Firebase Admin Go SDK, asking for the scopes that SDK
// asks for (no firebase.messaging among them).
func TestCloudAuthLibrary(t *testing.T) {
	keys := newKeyMap()
	a, _ := newTestAuthority(t, keys, nil)
	srv := serve(t, a)
	acc := newAccount(t, "demo", srv.URL+"/token")
	keys.put(acc.key)

	creds, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, acc.json, &credentials.DetectOptions{
		Scopes: []string{
			ScopeCloudPlatform,
			"https://www.googleapis.com/auth/datastore",
			"https://www.googleapis.com/auth/devstorage.full_control",
			"https://www.googleapis.com/auth/firebase",
			"https://www.googleapis.com/auth/identitytoolkit",
			"https://www.googleapis.com/auth/userinfo.email",
		},
		Client: srv.Client(),
	})
	if err != nil {
		t.Fatalf("NewCredentialsFromJSON: %v", err)
	}
	if id, err := creds.ProjectID(t.Context()); err != nil || id != "demo" {
		t.Errorf("ProjectID = %q, %v; want demo", id, err)
	}
	tok, err := creds.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	got, err := a.Verify(t.Context(), tok.Value)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(Principal{ProjectID: "demo", KeyID: acc.key.ID}, got); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
}
