package embedded

import (
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

// WithConfigFile loads a nats-server configuration file, as `nats-server
// -c path` would: authorization (users with permissions, nkeys, tokens),
// accounts, TLS, limits. Variables in it ($NAME) that the file does not
// define are read from the environment, so passwords can stay out of the
// file (see `choreo gen permissions`). The embedded server still decides
// what makes it embedded: JetStream is on, it listens on 127.0.0.1 unless
// the file names a host, on WithPort's port unless the file names one, and
// keeps its storage in WithDir's directory (or a temporary one) unless the
// file names a store_dir. The other options of this package apply on top
// of the file.
func WithConfigFile(path string) Option { return func(c *config) { c.configFile = path } }

// loadConfigFile reads path and fills in the embedded server's defaults
// from base where the file leaves them open.
func loadConfigFile(path string, base *server.Options) (*server.Options, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: configuration file: %v", ErrStart, err)
	}
	o, err := server.ProcessConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file %s: %v", ErrStart, path, err)
	}
	if o.ServerName == "" {
		o.ServerName = base.ServerName
	}
	if o.Host == "" {
		o.Host = base.Host
	}
	if o.Port == 0 {
		o.Port = base.Port
	}
	if o.StoreDir == "" {
		o.StoreDir = base.StoreDir
	}
	o.JetStream = true
	o.NoSigs = true
	return o, nil
}
