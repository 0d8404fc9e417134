package bus_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/choreo-bus/choreo/bus"
)

// A .creds file (a user JWT and its nkey seed, as nsc writes them) against a
// server in operator mode, the usual set-up of a production NATS system.
func TestConnectWithCredsFile(t *testing.T) {
	t.Parallel()
	operator, err := nkeys.CreateOperator()
	require.NoError(t, err)
	opPub, err := operator.PublicKey()
	require.NoError(t, err)
	opClaims := jwt.NewOperatorClaims(opPub)
	opJWT, err := opClaims.Encode(operator)
	require.NoError(t, err)
	opClaims, err = jwt.DecodeOperatorClaims(opJWT)
	require.NoError(t, err)

	issueAccount := func(jetstream bool) (nkeys.KeyPair, string, string) {
		acc, err := nkeys.CreateAccount()
		require.NoError(t, err)
		pub, err := acc.PublicKey()
		require.NoError(t, err)
		claims := jwt.NewAccountClaims(pub)
		if jetstream {
			claims.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := claims.Encode(operator)
		require.NoError(t, err)
		return acc, pub, token
	}
	sysAcc, sysPub, sysJWT := issueAccount(false)
	_ = sysAcc
	acc, accPub, accJWT := issueAccount(true)

	resolver := &server.MemAccResolver{}
	require.NoError(t, resolver.Store(sysPub, sysJWT))
	require.NoError(t, resolver.Store(accPub, accJWT))
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{opClaims},
		AccountResolver:  resolver,
		SystemAccount:    sysPub,
	})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second))
	t.Cleanup(ns.Shutdown)

	user, err := nkeys.CreateUser()
	require.NoError(t, err)
	userPub, err := user.PublicKey()
	require.NoError(t, err)
	uc := jwt.NewUserClaims(userPub)
	uc.IssuerAccount = accPub
	userJWT, err := uc.Encode(acc)
	require.NoError(t, err)
	seed, err := user.Seed()
	require.NoError(t, err)
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	require.NoError(t, err)
	credsFile := filepath.Join(t.TempDir(), "accounts.creds")
	require.NoError(t, os.WriteFile(credsFile, creds, 0o600))

	require.NoError(t, connectAndUse(t, ns.ClientURL(), bus.WithNATSOptions(nats.UserCredentials(credsFile))))

	err = connectAndUse(t, ns.ClientURL())
	requireNoSecret(t, err, "refused the credentials", string(seed))
}
