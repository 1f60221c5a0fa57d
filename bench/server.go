package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// server is a running `sachet serve`.
type server struct {
	bin     string
	env     []string
	addr    string
	dataDir string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// serverEnv is the environment without any inherited SACHET_* setting, plus
// ours.
func serverEnv(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SACHET_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// startServer starts bin serve on a free port with a fresh data dir and
// waits until it answers. extra is appended to its environment (the S3
// settings).
func startServer(ctx context.Context, bin, dir, database string, bcryptCost int, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	if database == "" {
		database = "sqlite:" + filepath.Join(data, "sachet.db")
	}
	s := &server{
		bin:     bin,
		addr:    fmt.Sprintf("127.0.0.1:%d", port),
		dataDir: data,
		logPath: filepath.Join(dir, "server.log"),
		exited:  make(chan struct{}),
	}
	s.env = serverEnv(
		"SACHET_ADDR="+s.addr,
		"SACHET_DATA_DIR="+data,
		"SACHET_DATABASE="+database,
		fmt.Sprintf("SACHET_BCRYPT_COST=%d", bcryptCost),
		"SACHET_SHUTDOWN_TIMEOUT=5s",
	)
	s.env = append(s.env, extra...)
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout = logf
	s.cmd.Stderr = logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s serve: %w", bin, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("sachet serve exited (%v) before answering; its log:\n%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := hc.Get("http://" + s.addr + "/whoami")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("sachet serve did not answer GET /whoami with 200 within 60 s; its log:\n%s", s.logTail())
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) base() string { return "http://" + s.addr }

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// cli runs one operator command with the server's configuration.
func (s *server) cli(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sachet %s: %w: %s", strings.Join(args[:min(2, len(args))], " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// stop sends SIGTERM and waits (SIGKILL after 15 s).
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// mysqlDB is a database created for one run and dropped after it.
type mysqlDB struct {
	db      *sql.DB
	name    string
	dsn     string // for SACHET_DATABASE, without the "mysql:" prefix
	version string
}

// createMySQLDB connects with dsn (no database name needed) and creates a
// fresh database.
func createMySQLDB(ctx context.Context, dsn string) (*mysqlDB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("bad -mysql DSN: %w", err)
	}
	cfg.DBName = ""
	cfg.Timeout = 3 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	m := &mysqlDB{db: db, name: fmt.Sprintf("sachet_bench_%d_%s", os.Getpid(), randomHex(3))}
	db.QueryRowContext(pctx, "SELECT VERSION()").Scan(&m.version)
	if _, err := db.ExecContext(pctx, "CREATE DATABASE `"+m.name+"` CHARACTER SET utf8mb4"); err != nil {
		db.Close()
		return nil, err
	}
	cfg.DBName = m.name
	cfg.Timeout = 0
	m.dsn = cfg.FormatDSN()
	return m, nil
}

func (m *mysqlDB) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := m.db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+m.name+"`")
	return errors.Join(err, m.db.Close())
}
