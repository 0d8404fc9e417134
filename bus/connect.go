package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/choreo-bus/choreo/internal/version"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoJetStream is returned (wrapped) by Connect when the server answers
// but has no JetStream for this account: start nats-server with -js (or
// enable JetStream for the account).
var ErrNoJetStream = errors.New("choreo/bus: the NATS server has no JetStream")

// MinServerVersion is the oldest nats-server the bus works with: 2.10 has
// every stream and consumer feature it uses.
const MinServerVersion = "2.10.0"

// WithNATSOptions passes options to nats.Connect when Connect dials, after
// choreo's own defaults (reconnect forever with jittered back-off, buffer
// while reconnecting, log disconnects), so they can override them. Use it
// for what a secured cluster needs: nats.UserCredentials (a .creds file),
// nats.Nkey or nats.NkeyOptionFromSeed, nats.UserInfo, nats.Token,
// nats.RootCAs and nats.ClientCert (TLS), nats.Secure. It has no effect on
// New, whose connection the caller dialled.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *config) { c.natsOptions = append(c.natsOptions, opts...) }
}

// Connect dials the NATS server(s) at url (comma-separated for a cluster)
// and returns a Bus on that connection. The connection reconnects forever,
// with jittered back-off, and buffers publishes while it does; Close closes
// it. ctx bounds the initial connection attempt and the check that the
// server has JetStream (ErrNoJetStream) and is recent enough
// (MinServerVersion).
//
// Errors never contain the credentials of url (user info and tokens are
// replaced by "redacted"), and end with a hint that fits the failure:
// refused credentials, a TLS problem, or no server listening.
func Connect(ctx context.Context, url string, opts ...Option) (*Bus, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.logger
	natsOpts := []nats.Option{
		nats.Name(cfg.source),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: a deliberate close
				log.Warn("choreo: disconnected from NATS; reconnecting", "error", redactError(err, url))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("choreo: reconnected to NATS", "url", RedactURL(c.ConnectedUrl()))
		}),
	}
	if dl, ok := ctx.Deadline(); ok {
		natsOpts = append(natsOpts, nats.Timeout(time.Until(dl)))
	}
	natsOpts = append(natsOpts, cfg.natsOptions...)
	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("choreo/bus: connecting to %s: %w (%s)", RedactURL(url), redactError(err, url), connectHint(err))
	}
	b, err := newBus(nc, cfg)
	if err == nil {
		err = b.checkServer(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	b.ownConn = true
	b.hooks.open(b)
	return b, nil
}

// checkServer fails early, with a clear error, on a server choreo cannot
// work with, instead of at the first publish ("no responders").
func (b *Bus) checkServer(ctx context.Context) error {
	where := RedactURL(b.nc.ConnectedUrl())
	if v := b.nc.ConnectedServerVersion(); v != "" && !version.AtLeast(v, MinServerVersion) {
		return fmt.Errorf("choreo/bus: %s runs nats-server %s; choreo needs %s or newer", where, v, MinServerVersion)
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("%w at %s: start nats-server with -js (or enable JetStream for this account)", ErrNoJetStream, where)
		}
		if last := b.nc.LastError(); errors.Is(last, nats.ErrPermissionViolation) {
			// Without this the refusal shows as a mere timeout.
			return fmt.Errorf("choreo/bus: asking %s for its JetStream account: %w; the server refused it (%v): a service with the permissions of `choreo gen permissions` connects with nats.CustomInboxPrefix(topic.InboxPrefix(namespace, service)) and may publish on $JS.API.INFO",
				where, err, last)
		}
		return fmt.Errorf("choreo/bus: asking %s for its JetStream account: %w", where, err)
	}
	return nil
}

// connectHint suggests the fix that fits a failed connection.
func connectHint(err error) string {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	var urlErr *url.Error
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &urlErr) && strings.Contains(urlErr.Op, "parse"):
		return "the URL does not parse: write it as nats://host:port (user info and tokens percent-encoded), or pass credentials with bus.WithNATSOptions"
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		errors.Is(err, nats.ErrAccountAuthExpired), strings.Contains(msg, "authorization violation"), strings.Contains(msg, "authentication"):
		return "the server refused the credentials: check the user and password, token, nkey or creds file given with bus.WithNATSOptions"
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted), strings.Contains(msg, "tls"), strings.Contains(msg, "x509"):
		return "TLS failed: check the server's certificate authority (nats.RootCAs), the client certificate (nats.ClientCert) and that the URL names the host in the certificate"
	case errors.Is(err, nats.ErrNoServers), errors.As(err, &netErr), strings.Contains(msg, "connection refused"):
		return "is nats-server running with JetStream and reachable at that address? For local development run `choreo dev` (go install github.com/choreo-bus/choreo/cmd/choreo@latest) or `nats-server -js`"
	}
	return "check the URL and the server's log"
}

// RedactURL returns a NATS URL list (comma-separated) with every
// credential replaced by "redacted": user names and passwords, and tokens
// (which NATS URLs carry as the user name). Text that does not parse as a
// URL is cut at its last '@', so a malformed URL with credentials does not
// leak them either. Safe for concurrent use.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if at := strings.LastIndexByte(raw, '@'); at >= 0 {
			scheme := ""
			if i := strings.Index(raw, "://"); i >= 0 && i < at {
				scheme = raw[:i+3]
			}
			return scheme + "redacted@" + raw[at+1:]
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	return u.String()
}

// secrets lists the credential strings of a URL list, to scrub from error
// texts that quote them.
func secrets(urls string) []string {
	var out []string
	for _, p := range strings.Split(urls, ",") {
		p = strings.TrimSpace(p)
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
		}
		at := strings.LastIndexByte(p, '@')
		if at <= 0 {
			continue
		}
		userinfo := p[:at]
		out = append(out, userinfo)
		user, pass, _ := strings.Cut(userinfo, ":")
		forms := []string{user, pass}
		for _, s := range []string{user, pass} {
			if plain, err := url.PathUnescape(s); err == nil && plain != s {
				forms = append(forms, plain) // the decoded form nats.go may print
			}
		}
		for _, s := range forms {
			// Shorter is too likely to match innocent text, and "nats" is
			// in every nats.go error (the whole user info still goes).
			if len(s) >= 3 && s != "nats" {
				out = append(out, s)
			}
		}
	}
	return out
}

// redactedError keeps the wrapped error for errors.Is and errors.As but
// prints its text with the credentials of a URL removed.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with every credential of urls removed from its
// text; it returns err itself when its text holds none.
func redactError(err error, urls string) error {
	if err == nil {
		return nil
	}
	text, changed := err.Error(), false
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// url.Error quotes the URL (%q), escaping what the secrets hold:
		// print it redacted instead of searching for escaped forms.
		text, changed = urlErr.Op+" "+strconv.Quote(RedactURL(urlErr.URL))+": "+urlErr.Err.Error(), true
	}
	all := secrets(urls)
	// Longest first, so a password that contains the user name goes whole.
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	for _, s := range all {
		for _, form := range []string{s, strings.Trim(strconv.Quote(s), `"`)} {
			if strings.Contains(text, form) {
				text, changed = strings.ReplaceAll(text, form, "redacted"), true
			}
		}
	}
	if !changed {
		return err
	}
	return &redactedError{err: err, text: text}
}
