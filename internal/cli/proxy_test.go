package cli

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback address nobody listens on (for a program that takes no ":0").
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The guide's nginx server block, as written, in front of the daemon: HTTPS with the session
// cookie marked Secure (http.secure_cookies), plain HTTP redirected, and /metrics only for the
// Prometheus server's address.
func TestReverseProxyNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("needs nginx (Debian package nginx) to try the guide's reverse proxy")
		}
		nginx = "/usr/sbin/nginx"
	}
	var block string
	for _, b := range testedBlocks(t, "../../docs/operations.md") {
		if b.file == "nginx.conf" {
			block = b.text
		}
	}
	if block == "" {
		t.Fatal("operations.md has no <!-- tested: nginx.conf --> block")
	}

	cfg := opsConfig(t, "")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "http: {listen: '127.0.0.1:0'}", "http: {listen: '127.0.0.1:0', secure_cookies: true}", 1)), 0o600)
	migrateFor(t, cfg)
	stdin = strings.NewReader("a-good-password\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if code, o, e := run(t, "user", "add", "--config", cfg, "--role", "admin", "root"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, o, e)
	}
	daemon, _, _ := serveInProcess(t, cfg, "kaoqin serving")

	dir := t.TempDir()
	pool := selfSigned(t, filepath.Join(dir, "tls"))
	https, plain := freePort(t), freePort(t)
	for _, r := range []struct{ old, new string }{
		{"listen 443 ssl;", "listen " + https + " ssl;"},
		{"listen 80;", "listen " + plain + ";"},
		{"/etc/ssl/kaoqin/fullchain.pem", filepath.Join(dir, "tls/cert.pem")},
		{"/etc/ssl/kaoqin/privkey.pem", filepath.Join(dir, "tls/key.pem")},
		{"http://127.0.0.1:8080", "http://" + daemon},
	} {
		if !strings.Contains(block, r.old) {
			t.Fatalf("the guide's nginx block has no %q any more; update this test", r.old)
		}
		block = strings.ReplaceAll(block, r.old, r.new)
	}
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte("pid "+dir+"/nginx.pid;\nerror_log "+dir+"/error.log;\nevents {}\nhttp {\n"+
		"access_log "+dir+"/access.log;\nclient_body_temp_path "+dir+"/body;\nproxy_temp_path "+dir+"/proxy;\n"+
		"fastcgi_temp_path "+dir+"/fastcgi;\nuwsgi_temp_path "+dir+"/uwsgi;\nscgi_temp_path "+dir+"/scgi;\n"+
		block+"}\n"), 0o644)
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	proc := exec.Command(nginx, "-p", dir, "-c", conf, "-g", "daemon off; master_process off;")
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Process.Kill(); proc.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", https)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not listen on %s: %v\n%s", https, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cases := []struct {
		name, method, url, body string
		code                    int
		check                   func(t *testing.T, resp *http.Response)
	}{
		{"login page over https", "GET", "https://" + https + "/login", "", http.StatusOK, nil},
		{"login sets a Secure cookie", "POST", "https://" + https + "/api/v1/login", `{"name":"root","password":"a-good-password"}`, http.StatusOK,
			func(t *testing.T, resp *http.Response) {
				if len(resp.Cookies()) == 0 || !resp.Cookies()[0].Secure {
					t.Errorf("cookies %v, want a Secure session cookie", resp.Cookies())
				}
			}},
		{"metrics only for Prometheus", "GET", "https://" + https + "/metrics", "", http.StatusForbidden, nil},
		{"plain http redirected", "GET", "http://" + plain + "/today", "", http.StatusMovedPermanently,
			func(t *testing.T, resp *http.Response) {
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://") {
					t.Errorf("Location %q, want https://…", loc)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("got %d, want %d", resp.StatusCode, c.code)
			}
			if c.check != nil {
				c.check(t, resp)
			}
		})
	}
}
