package app

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	get := BindFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return get()
}

func TestConfigLimitsDefaults(t *testing.T) {
	c := Defaults()
	if c.HeaderTimeout != 10*time.Second || c.MaxHeaderBytes != 64<<10 || c.IdleTimeout != time.Minute ||
		c.LoginMaxFailures != 10 || c.LoginWindow != 15*time.Minute || len(c.TrustedProxies) != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigLimitsFromEnvAndFlags(t *testing.T) {
	c, err := load(t, map[string]string{
		"SACHET_HEADER_TIMEOUT":     "2s",
		"SACHET_LOGIN_MAX_FAILURES": "0",
		"SACHET_TRUSTED_PROXIES":    " 10.0.0.0/8, 192.0.2.7 ,::1,2001:db8::/32",
	}, "-max-header-size", "8192", "-login-window", "1h")
	if err != nil {
		t.Fatal(err)
	}
	if c.HeaderTimeout != 2*time.Second || c.MaxHeaderBytes != 8192 || c.LoginMaxFailures != 0 || c.LoginWindow != time.Hour {
		t.Fatalf("%+v", c)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, ",") != "10.0.0.0/8,192.0.2.7/32,::1/128,2001:db8::/32" {
		t.Fatalf("trusted proxies %v", got)
	}
}

func TestConfigLimitsInvalid(t *testing.T) {
	for _, env := range []map[string]string{
		{"SACHET_TRUSTED_PROXIES": "10.0.0.0/33"},
		{"SACHET_TRUSTED_PROXIES": "proxy.example"},
		{"SACHET_HEADER_TIMEOUT": "0s"},
		{"SACHET_MAX_HEADER_SIZE": "100"},
		{"SACHET_LOGIN_MAX_FAILURES": "-1"},
		{"SACHET_LOGIN_WINDOW": "0s"},
	} {
		if _, err := load(t, env); err == nil {
			t.Errorf("%v accepted", env)
		} else if !strings.Contains(err.Error(), "SACHET_") {
			t.Errorf("%v: error %q names no setting", env, err)
		}
	}
}

func TestConfigStorage(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		ok        bool
	}{
		{"", "file:", true},
		{"file:", "file:", true},
		{"file:/srv/sachet", "file:/srv/sachet", true},
		{"ftp://example.com/x", "", false},
	} {
		c, err := load(t, map[string]string{"SACHET_STORAGE": tc.env})
		if (err == nil) != tc.ok {
			t.Errorf("SACHET_STORAGE=%q: err %v, want ok=%v", tc.env, err, tc.ok)
			continue
		}
		if tc.ok && c.Storage != tc.want {
			t.Errorf("SACHET_STORAGE=%q: Storage %q, want %q", tc.env, c.Storage, tc.want)
		}
	}
}

// TestConfigS3: the S3 settings, their defaults, and a clear error for a
// malformed bucket URL or path-style flag.
func TestConfigS3(t *testing.T) {
	c, err := load(t, map[string]string{"SACHET_STORAGE": "s3://bucket/some/prefix", "SACHET_S3_ENDPOINT": "http://127.0.0.1:7070", "SACHET_S3_PATH_STYLE": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage != "s3://bucket/some/prefix" || c.S3Endpoint != "http://127.0.0.1:7070" || !c.S3PathStyle || c.S3Region != "us-east-1" {
		t.Fatalf("%+v", c)
	}
	if d := Defaults(); d.S3Endpoint != "" || d.S3PathStyle || d.S3Region != "us-east-1" {
		t.Fatalf("defaults: endpoint %q, path style %v, region %q", d.S3Endpoint, d.S3PathStyle, d.S3Region)
	}
	c, err = load(t, nil, "-storage", "s3://b", "-s3-region", "eu-west-3", "-s3-path-style", "false")
	if err != nil || c.S3Region != "eu-west-3" || c.S3PathStyle || c.Storage != "s3://b" {
		t.Fatalf("flags: %+v %v", c, err)
	}
	for _, env := range []map[string]string{
		{"SACHET_STORAGE": "s3://"},
		{"SACHET_STORAGE": "s3:bucket"},
		{"SACHET_STORAGE": "s3://b?x=1"},
		{"SACHET_S3_PATH_STYLE": "maybe"},
	} {
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "SACHET_") {
			t.Errorf("%v: error %v, want one naming the setting", env, err)
		}
	}
}

// TestConfigS3PresignedRedirect: off by default; true or false from the
// environment or the flag; refused, naming the setting, when malformed or
// when content is not on S3 (there is nothing to presign).
func TestConfigS3PresignedRedirect(t *testing.T) {
	if Defaults().S3PresignedRedirect {
		t.Fatal("on by default")
	}
	c, err := load(t, map[string]string{"SACHET_STORAGE": "s3://b/p", "SACHET_S3_PRESIGNED_REDIRECT": "true"})
	if err != nil || !c.S3PresignedRedirect {
		t.Fatalf("env: %+v %v", c, err)
	}
	c, err = load(t, nil, "-storage", "s3://b", "-s3-presigned-redirect", "false")
	if err != nil || c.S3PresignedRedirect {
		t.Fatalf("flag: %+v %v", c, err)
	}
	for _, env := range []map[string]string{
		{"SACHET_STORAGE": "s3://b", "SACHET_S3_PRESIGNED_REDIRECT": "yes please"},
		{"SACHET_S3_PRESIGNED_REDIRECT": "true"},
		{"SACHET_STORAGE": "file:/tmp/x", "SACHET_S3_PRESIGNED_REDIRECT": "1"},
	} {
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "SACHET_S3_PRESIGNED_REDIRECT") {
			t.Errorf("%v: error %v, want one naming SACHET_S3_PRESIGNED_REDIRECT", env, err)
		}
	}
}
