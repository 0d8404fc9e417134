package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
	"github.com/choreo-bus/choreo/embedded"
)

func startSecured(t *testing.T, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(ctxT(t), opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

// connectAndUse connects with opts, then proves the bus works end to end.
func connectAndUse(t *testing.T, url string, opts ...bus.Option) error {
	t.Helper()
	ctx := ctxT(t)
	b, err := bus.Connect(ctx, url, opts...)
	if err != nil {
		return err
	}
	defer b.Close(ctx)
	_, err = bus.Publish(ctx, b, signedUpEvt, signedUp{N: 1})
	return err
}

// withCredentials puts user info into a nats://host:port URL.
func withCredentials(url, userinfo string) string {
	return strings.Replace(url, "nats://", "nats://"+userinfo+"@", 1)
}

// requireNoSecret checks an error names the failure without the secret.
func requireNoSecret(t *testing.T, err error, hint string, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	for _, s := range secrets {
		require.NotContains(t, err.Error(), s, "the error leaks a credential")
	}
	require.Contains(t, err.Error(), hint)
}

func TestConnectWithUserAndPassword(t *testing.T) {
	t.Parallel()
	srv := startSecured(t, embedded.WithUser("alice", "s3cretPW"))
	require.NoError(t, connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.UserInfo("alice", "s3cretPW"))))
	require.NoError(t, connectAndUse(t, withCredentials(srv.ClientURL(), "alice:s3cretPW")))

	err := connectAndUse(t, withCredentials(srv.ClientURL(), "alice:wr0ngPW"))
	requireNoSecret(t, err, "refused the credentials", "wr0ngPW", "alice:")
	require.ErrorIs(t, err, nats.ErrAuthorization)
	err = connectAndUse(t, srv.ClientURL())
	requireNoSecret(t, err, "refused the credentials")
}

func TestConnectWithToken(t *testing.T) {
	t.Parallel()
	srv := startSecured(t, embedded.WithToken("t0kenXYZ"))
	require.NoError(t, connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Token("t0kenXYZ"))))
	require.NoError(t, connectAndUse(t, withCredentials(srv.ClientURL(), "t0kenXYZ")))
	err := connectAndUse(t, withCredentials(srv.ClientURL(), "wr0ngTOKEN"))
	requireNoSecret(t, err, "refused the credentials", "wr0ngTOKEN")
}

func TestConnectWithNkey(t *testing.T) {
	t.Parallel()
	user, err := nkeys.CreateUser()
	require.NoError(t, err)
	pub, err := user.PublicKey()
	require.NoError(t, err)
	srv := startSecured(t, embedded.WithNkey(pub))
	require.NoError(t, connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Nkey(pub, user.Sign))))

	other, err := nkeys.CreateUser()
	require.NoError(t, err)
	err = connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Nkey(pub, other.Sign)))
	requireNoSecret(t, err, "refused the credentials")
}

func TestConnectWithTLSAndClientCertificate(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	srv := startSecured(t, embedded.WithTLS(&tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}))
	good := &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}, MinVersion: tls.VersionTLS12}
	require.NoError(t, connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Secure(good))))

	noClientCert := &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
	err := connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Secure(noClientCert)))
	requireNoSecret(t, err, "TLS failed")
	unknownCA := &tls.Config{Certificates: []tls.Certificate{pki.client}, MinVersion: tls.VersionTLS12}
	err = connectAndUse(t, srv.ClientURL(), bus.WithNATSOptions(nats.Secure(unknownCA)))
	requireNoSecret(t, err, "TLS failed")
}

// No server: the error hides the URL's credentials and says to start one.
func TestConnectErrorRedactsCredentials(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, url := range []string{
		"nats://alice:s3cretPW@127.0.0.1:1",
		"nats://s3cretTOKEN@127.0.0.1:1",
		"nats://127.0.0.1:1,nats://bob:s3cretPW2@127.0.0.1:2",
	} {
		_, err := bus.Connect(ctx, url)
		requireNoSecret(t, err, "is nats-server running", "s3cret", "alice", "bob")
	}
	// URLs that do not parse: the parser's error quotes the URL, escaped.
	for _, url := range []string{
		"nats://alice:s3cret PW%@127.0.0.1:1",
		"nats://alice:s\"3cr\\et@127.0.0.1:1",
		"nats://alice:s3cr%zzet@127.0.0.1:1",
	} {
		_, err := bus.Connect(ctx, url)
		requireNoSecret(t, err, "does not parse", "s3cret", `s\"3cr`, "s3cr%zzet", "alice", `3cr\\et`)
	}
	require.Equal(t, "nats://redacted@127.0.0.1:1,tls://h:2", bus.RedactURL("nats://a:b@127.0.0.1:1, tls://h:2"))
}

// A server without JetStream is refused at Connect, not at the first
// publish with "no responders".
func TestConnectRefusesServerWithoutJetStream(t *testing.T) {
	t.Parallel()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	t.Cleanup(ns.Shutdown)
	_, err = bus.Connect(ctxT(t), ns.ClientURL())
	require.ErrorIs(t, err, bus.ErrNoJetStream)
	require.Contains(t, err.Error(), "-js")
}

// testPKI is a throwaway certificate authority with a server certificate
// for 127.0.0.1 and a client certificate.
type testPKI struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "choreo test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "choreo test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool, server: issue(2, x509.ExtKeyUsageServerAuth), client: issue(3, x509.ExtKeyUsageClientAuth)}
}
