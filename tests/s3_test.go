package tests

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/internal/s3test"
)

// The black-box suites run on S3 when SACHET_TEST_STORAGE=s3: every server
// under test then keeps its content in one shared versitygw (started on
// first use, stopped by TestMain), each under a prefix of its own, so
// tests never see one another's objects. `make test` runs the upload,
// download and multi-process suites this way too, on SQLite and MariaDB.

const s3Bucket = "sachet"

var sharedS3 struct {
	once sync.Once
	srv  *s3test.Server
	dir  string
	err  error
}

// onS3 reports whether the suites run on S3.
func onS3() bool { return os.Getenv("SACHET_TEST_STORAGE") == "s3" }

// testS3 returns the shared versitygw, starting it on first use; it skips
// (loudly) or, in CI, fails when versitygw is not installed.
func testS3(t testing.TB) *s3test.Server {
	t.Helper()
	sharedS3.once.Do(func() {
		dir, err := os.MkdirTemp("", "sachet-s3-")
		if err != nil {
			sharedS3.err = err
			return
		}
		sharedS3.dir = dir
		sharedS3.srv, sharedS3.err = s3test.StartShared(dir, s3Bucket)
		if sharedS3.err == nil {
			setS3CredsEnv()
		}
	})
	if err := sharedS3.err; err != nil {
		if err == s3test.ErrNotInstalled && !servicesRequired() {
			t.Skipf("!!! SKIPPING S3 TESTS: %v !!!", err)
		}
		t.Fatalf("versitygw: %v", err)
	}
	return sharedS3.srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedS3.srv != nil {
		sharedS3.srv.Stop()
	}
	if sharedS3.dir != "" {
		os.RemoveAll(sharedS3.dir)
	}
	os.Exit(code)
}

var credsOnce sync.Once

// setS3CredsEnv gives this process versitygw's credentials: in-process
// servers take them from the SDK's standard chain, like production, and
// that starts with the environment. (Set once, for good: tests run in
// parallel, so t.Setenv cannot be used.)
func setS3CredsEnv() {
	credsOnce.Do(func() {
		os.Setenv("AWS_ACCESS_KEY_ID", s3test.Access)
		os.Setenv("AWS_SECRET_ACCESS_KEY", s3test.Secret)
	})
}

// s3Prefix is a fresh key prefix in the shared bucket.
func s3Prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:]) + "/"
}

// useTestStorage points cfg at the store the suites run on: the data dir
// (the default), or a fresh prefix of the shared S3 bucket.
func useTestStorage(t testing.TB, cfg *app.Config) {
	t.Helper()
	if !onS3() {
		cfg.Storage = testStorage()
		return
	}
	srv := testS3(t)
	cfg.Storage = srv.Storage(s3Bucket, s3Prefix())
	cfg.S3Endpoint, cfg.S3PathStyle, cfg.S3Region = srv.Endpoint, true, "us-east-1"
}

// testStorageEnv is useTestStorage for a `sachet serve` subprocess.
func testStorageEnv(t testing.TB) []string {
	t.Helper()
	if !onS3() {
		return []string{"SACHET_STORAGE=" + testStorage()}
	}
	return append(testS3(t).Env(s3Bucket, s3Prefix()),
		fmt.Sprintf("AWS_ACCESS_KEY_ID=%s", s3test.Access), "AWS_SECRET_ACCESS_KEY="+s3test.Secret)
}

// skipOnS3 skips a test that looks at the filesystem store's files.
func skipOnS3(t testing.TB, why string) {
	t.Helper()
	if onS3() {
		t.Skipf("filesystem store only: %s", why)
	}
}
