package heraldtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/heraldpush/herald/internal/config"
)

// TLSFiles is a test certificate authority and a server certificate it
// issued, written as PEM files.
type TLSFiles struct {
	// CAFile holds the CA certificate; Pool holds it too.
	CAFile string
	Pool   *x509.CertPool
	// CertFile and KeyFile are the server's certificate and ECDSA P-256
	// key, valid for 127.0.0.1, ::1 and localhost.
	CertFile, KeyFile string
}

// NewTLSFiles generates a CA and a server certificate in a temporary
// directory of t. Nothing is shared between calls.
func NewTLSFiles(t testing.TB) TLSFiles {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "heraldtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := TLSFiles{
		CAFile:   filepath.Join(dir, "ca.pem"),
		Pool:     x509.NewCertPool(),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
	}
	f.Pool.AddCert(ca)
	writePEM(t, f.CAFile, "CERTIFICATE", caDER)
	writePEM(t, f.CertFile, "CERTIFICATE", der)
	writePEM(t, f.KeyFile, "PRIVATE KEY", keyDER)
	return f
}

// Option returns an Option that makes the server serve https with these
// files.
func (f TLSFiles) Option() Option {
	return func(c *config.Config) { c.TLSCert, c.TLSKey = f.CertFile, f.KeyFile }
}

// StartTLS is Start with TLS: the server serves https (HTTP/2 by ALPN) with
// a certificate from a CA generated for this test. Server.URL is https://…,
// Server.TLS holds the CA, and Server.Client trusts it.
func StartTLS(t testing.TB, opts ...Option) *Server {
	t.Helper()
	f := NewTLSFiles(t)
	return start(t, &f, append(slices.Clip(opts), f.Option()))
}

// newHTTPClient returns a client for a server with the given CA (nil:
// plain HTTP). Over TLS it negotiates HTTP/2 by ALPN.
func newHTTPClient(f *TLSFiles) *http.Client {
	tr := &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16}
	if f != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: f.Pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ClientTLSConfig returns TLS settings that trust the test CA (for
// client.Config.TLSConfig), or nil when the server runs without TLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.TLS.Pool, MinVersion: tls.VersionTLS12}
}
