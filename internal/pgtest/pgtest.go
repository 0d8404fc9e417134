// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb
// into a temporary directory, a server on its own free port with its unix
// socket in that directory, run as the postgres user when the tests run as
// root (the server refuses root), stopped and removed when the tests end.
// One cluster serves a whole test binary; each test gets a database of its
// own.
//
// A test binary that is killed (rather than failing) takes its server with
// it (the server gets SIGKILL when the binary dies) but leaves the
// directory, /tmp/choreo-pgtest-*, behind.
//
// It needs the PostgreSQL server binaries (Debian: apt-get install
// postgresql). When they are missing or the server cannot start, DB fails
// the test with the reason; it never skips.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		db := pgtest.DB(t) // a fresh database, dropped at the end
//		...
//	}
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string // everything: data, socket, log
	port int
	cmd  *exec.Cmd
	exit chan error
	dbs  atomic.Int64
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Main runs the tests and then stops the shared cluster, if one was
// started; use it in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// DB returns a new, empty database on the shared cluster (started on first
// use), opened with pgx's database/sql driver; it is closed and dropped
// when t ends. t fails when no cluster can be started.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	c := Shared(t)
	db, err := c.NewDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { c.dropDB(db) })
	return db.DB
}

// DSN returns a new, empty database on the shared cluster as a connection
// string, for code that opens its own connections; dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	db, err := c.NewDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { c.dropDB(db) })
	return db.DSN
}

// Shared returns the shared cluster, starting it on first use.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL for this test: %v", sharedErr)
	}
	return shared
}

// Start starts a new cluster. Stop it when done.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	// As root the server runs as postgres, who must reach the directory:
	// /tmp is open to every user, a TMPDIR under root's home is not. It
	// also keeps the socket's path well under the 107 bytes a unix socket
	// path may have.
	parent := ""
	if os.Getuid() == 0 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "choreo-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, exit: make(chan error, 1)}
	if err := c.start(bin); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(bin string) error {
	cred, err := serverUser(c.dir)
	if err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb failed: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	if cred != nil {
		_ = os.Chown(logf.Name(), int(cred.Uid), int(cred.Gid))
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-p", strconv.Itoa(c.port), "-k", c.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=64MB")
	// Pdeathsig: a test binary that dies takes its server with it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	go func() { c.exit <- c.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("pgx", c.dsn("postgres"))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			_ = db.Close()
		}
		if err == nil {
			return nil
		}
		select {
		case werr := <-c.exit:
			c.cmd = nil
			return fmt.Errorf("postgres exited at start (%v); its log:\n%s", werr, c.log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within 60s (last: %v); its log:\n%s", err, c.log())
		}
	}
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.exit:
		case <-time.After(15 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exit
		}
		c.cmd = nil
	}
	_ = os.RemoveAll(c.dir)
}

// Port is the server's TCP port (on 127.0.0.1).
func (c *Cluster) Port() int { return c.port }

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.dir, c.port, db)
}

// Database is a database made by NewDB.
type Database struct {
	*sql.DB
	Name string
	DSN  string
}

// NewDB creates an empty database and opens it.
func (c *Cluster) NewDB() (*Database, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	admin, err := sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	dsn := c.dsn(name)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	return &Database{DB: db, Name: name, DSN: dsn}, nil
}

func (c *Cluster) dropDB(db *Database) {
	_ = db.Close()
	admin, err := sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		return
	}
	defer admin.Close()
	_, _ = admin.Exec("DROP DATABASE IF EXISTS " + db.Name + " WITH (FORCE)")
}

func (c *Cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// binDir finds the server binaries: the newest /usr/lib/postgresql/*/bin
// (Debian's layout), else the directory of pg_ctl on PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or on PATH; install them (Debian: apt-get install -y postgresql)")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// serverUser is the credential to run the server with: none when we are
// not root; the postgres user when we are (the server refuses root), who
// is then given dir.
func serverUser(dir string) (*syscall.Credential, error) {
	if os.Getuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and the server refuses root, but there is no postgres user to run it as (%v); create one (useradd postgres) or install Debian's postgresql package", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
