package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/choreo-bus/choreo/embedded"
)

// Environment variables that carry secrets for `choreo dev`: a flag value
// would show in every process listing.
const (
	envDevPassword = "CHOREO_DEV_PASSWORD"
	envDevToken    = "CHOREO_DEV_TOKEN"
)

// devSecurity holds the flags that make `choreo dev` a secured server, so
// services can be tried locally the way production connects to them.
type devSecurity struct {
	user                      string
	token                     bool
	tlsCert, tlsKey, clientCA string
}

func (s *devSecurity) register(fs *flag.FlagSet) {
	fs.StringVar(&s.user, "user", "", "require this user `name`; the password comes from $"+envDevPassword)
	fs.BoolVar(&s.token, "token", false, "require the token in $"+envDevToken)
	fs.StringVar(&s.tlsCert, "tls-cert", "", "serve TLS with this PEM certificate `file` (needs -tls-key)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.StringVar(&s.clientCA, "tls-client-ca", "", "require client certificates signed by the CA in this PEM `file`")
}

// options turns the flags into server options. Errors never quote a
// secret: they name the variable to set.
func (s *devSecurity) options(getenv func(string) string) ([]embedded.Option, error) {
	var opts []embedded.Option
	if s.user != "" && s.token {
		return nil, fmt.Errorf("-user and -token cannot be combined: a NATS server takes one or the other")
	}
	if s.user != "" {
		pw := getenv(envDevPassword)
		if pw == "" {
			return nil, fmt.Errorf("-user %s needs a password: set $%s", s.user, envDevPassword)
		}
		opts = append(opts, embedded.WithUser(s.user, pw))
	}
	if s.token {
		tok := getenv(envDevToken)
		if tok == "" {
			return nil, fmt.Errorf("-token needs the token: set $%s", envDevToken)
		}
		opts = append(opts, embedded.WithToken(tok))
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return nil, fmt.Errorf("-tls-cert and -tls-key go together")
	}
	if s.clientCA != "" && s.tlsCert == "" {
		return nil, fmt.Errorf("-tls-client-ca needs -tls-cert and -tls-key: client certificates are only asked for over TLS")
	}
	if s.tlsCert != "" {
		certPEM, err := readPEM("-tls-cert", s.tlsCert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readPEM("-tls-key", s.tlsKey)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert/-tls-key: %v", err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if s.clientCA != "" {
			pem, err := readPEM("-tls-client-ca", s.clientCA)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-tls-client-ca %s: no PEM certificate in it", s.clientCA)
			}
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		opts = append(opts, embedded.WithTLS(cfg))
	}
	return opts, nil
}

// describe says how clients get in, for the start-up lines.
func (s *devSecurity) describe() string {
	switch {
	case s.user != "":
		return "user " + s.user + " (password from $" + envDevPassword + ")"
	case s.token:
		return "the token in $" + envDevToken
	}
	return "no authentication"
}

// maxPEMSize bounds what is read of a certificate or key file: a flag can
// name /dev/zero or a huge file by mistake.
const maxPEMSize = 1 << 20

// readPEM reads a PEM file named by flag, at most maxPEMSize bytes.
func readPEM(flag, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, path, err)
	}
	if len(b) > maxPEMSize {
		return nil, fmt.Errorf("%s %s: larger than %d bytes; is it a PEM file?", flag, path, maxPEMSize)
	}
	return b, nil
}
