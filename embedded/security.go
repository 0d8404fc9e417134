package embedded

import (
	"crypto/tls"

	"github.com/nats-io/nats-server/v2/server"
)

// Authentication and TLS, so tests and local development can run against a
// secured server as production does. Without any of these options the
// server accepts every client on loopback.

// WithUser lets a client in with name and password (nats.UserInfo, or
// nats://name:password@host in the URL). Give it once per user; users and
// a token (WithToken) cannot be combined, nkeys (WithNkey) can.
func WithUser(name, password string) Option {
	return func(c *config) { c.users = append(c.users, &server.User{Username: name, Password: password}) }
}

// WithToken lets a client in with token (nats.Token, or nats://token@host).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithNkey lets a client in that proves it holds the seed of the nkey user
// publicKey ("U..."), with nats.Nkey or nats.NkeyOptionFromSeed. Give it
// once per user.
func WithNkey(publicKey string) Option {
	return func(c *config) { c.nkeys = append(c.nkeys, &server.NkeyUser{Nkey: publicKey}) }
}

// WithTLS makes the server require TLS with cfg (its Certificates are the
// server's). When cfg.ClientAuth is tls.RequireAndVerifyClientCert, clients
// must present a certificate signed by cfg.ClientCAs. ClientURL keeps the
// nats:// scheme: nats.go upgrades to TLS when the server requires it, and
// verifies the server against nats.RootCAs or nats.Secure's config.
func WithTLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// applySecurity copies the security options into the server options; a
// configuration file's (WithConfigFile) stay unless an option replaces
// them.
func (c *config) applySecurity(o *server.Options) {
	if c.users != nil {
		o.Users = c.users
	}
	if c.token != "" {
		o.Authorization = c.token
	}
	if c.nkeys != nil {
		o.Nkeys = c.nkeys
	}
	if c.tls != nil {
		o.TLS = true
		o.TLSConfig = c.tls
		o.TLSVerify = c.tls.ClientAuth == tls.RequireAndVerifyClientCert
		o.TLSTimeout = 5 // seconds; the default of half a second is short on a loaded machine
	}
}
