package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/heraldpush/herald/internal/store"
)

// ServiceAccountType is the "type" of a service-account JSON file.
const ServiceAccountType = "service_account"

// TokenPath is the path of the token endpoint. A token_uri, and the "aud"
// of every assertion, must be a URL with exactly this path.
const TokenPath = "/token"

// Service-account keys.
const (
	keyBits      = 2048
	keyIDBytes   = 20 // 40 hex digits, as Google's private_key_id
	emailPrefix  = "herald-"
	emailDomain  = ".iam.herald.dev"
	clientIDSize = 21 // digits, as Google's client_id
)

// ServiceAccount is a service-account JSON file in Google's format, as the
// Google client libraries and the Firebase Admin SDKs read it.
type ServiceAccount struct {
	Type         string `json:"type"` // always "service_account"
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"` // PKCS#8 PEM, RSA 2048
	ClientEmail  string `json:"client_email"`
	ClientID     string `json:"client_id"`
	// AuthURI is written because Google's files have it; service accounts
	// never use it and Herald does not serve it.
	AuthURI  string `json:"auth_uri"`
	TokenURI string `json:"token_uri"`
}

// NewServiceAccount generates an RSA-2048 key pair for projectID and
// returns the record to store (the public half only) and the
// service-account JSON to hand to the app server once (the private half is
// in it and nowhere else). tokenURI is written as token_uri: an absolute
// http(s) URL whose path is /token, where this server's Authority is
// reached. client_email encodes the key id, so an assertion without "kid"
// still finds its key.
func NewServiceAccount(projectID, tokenURI string, now time.Time) (store.Key, []byte, error) {
	if err := checkProjectID(projectID); err != nil {
		return store.Key{}, nil, err
	}
	tu, err := checkTokenURI(tokenURI)
	if err != nil {
		return store.Key{}, nil, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return store.Key{}, nil, fmt.Errorf("generate RSA key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.Key{}, nil, fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return store.Key{}, nil, fmt.Errorf("encode public key: %w", err)
	}
	id := hex.EncodeToString(randomBytes(keyIDBytes))
	email := ClientEmail(projectID, id)
	key := store.Key{
		ID:           id,
		ProjectID:    projectID,
		ClientEmail:  email,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		CreatedAt:    now,
	}
	sa := ServiceAccount{
		Type:         ServiceAccountType,
		ProjectID:    projectID,
		PrivateKeyID: id,
		PrivateKey:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		ClientEmail:  email,
		ClientID:     randomDigits(clientIDSize),
		AuthURI:      (&url.URL{Scheme: tu.Scheme, Host: tu.Host, Path: "/auth"}).String(),
		TokenURI:     tokenURI,
	}
	js, err := json.MarshalIndent(sa, "", "  ")
	if err != nil {
		return store.Key{}, nil, fmt.Errorf("encode service account: %w", err)
	}
	return key, append(js, '\n'), nil
}

// ClientEmail is the client_email of key keyID of projectID:
// "herald-<keyID>@<projectID>.iam.herald.dev".
func ClientEmail(projectID, keyID string) string {
	return emailPrefix + keyID + "@" + projectID + emailDomain
}

// keyIDFromEmail returns the key id that a client_email encodes.
func keyIDFromEmail(email string) (string, bool) {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || !strings.HasSuffix(domain, emailDomain) {
		return "", false
	}
	id, ok := strings.CutPrefix(local, emailPrefix)
	if !ok || id == "" {
		return "", false
	}
	return id, true
}

// publicKey decodes the RSA public key of a stored key.
func publicKey(k store.Key) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(k.PublicKeyPEM))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("key %s: public_key_pem holds no PUBLIC KEY block", k.ID)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key %s: public key is %T, want RSA", k.ID, pub)
	}
	if rsaPub.N.BitLen() < keyBits {
		return nil, fmt.Errorf("key %s: RSA key of %d bits, want at least %d", k.ID, rsaPub.N.BitLen(), keyBits)
	}
	return rsaPub, nil
}

// checkProjectID accepts the project ids of the admin API,
// [a-z][a-z0-9-]{1,62}, which are also valid in a client_email's domain.
func checkProjectID(id string) error {
	ok := len(id) >= 2 && len(id) <= 63 && id[0] >= 'a' && id[0] <= 'z'
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("project id %q: want a lower-case letter then 1 to 62 lower-case letters, digits or '-'", id)
	}
	return nil
}

// checkTokenURI accepts an absolute http(s) URL with path /token.
func checkTokenURI(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("token URI: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != TokenPath || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("token URI %q: want an absolute http(s) URL with path %s and no query, such as https://push.example.com/token", s, TokenPath)
	}
	return u, nil
}

// randomDigits returns n random decimal digits, the first not 0.
func randomDigits(n int) string {
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n-1)), nil)
	span := new(big.Int).Mul(lo, big.NewInt(9))
	v, _ := rand.Int(rand.Reader, span) // fails only on a bad reader or span
	return v.Add(v, lo).String()
}
