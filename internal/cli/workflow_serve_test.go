package cli

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/workflow"
)

// robotServer stands in for the WeCom and DingTalk robots: it checks the payload and DingTalk's
// signature and keeps every text it accepted.
type robotServer struct {
	*httptest.Server
	mu    sync.Mutex
	texts []string
}

func newRobotServer(t *testing.T, secret string) *robotServer {
	rs := &robotServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			MsgType string                   `json:"msgtype"`
			Text    struct{ Content string } `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.MsgType != "text" {
			fmt.Fprint(w, `{"errcode":40035,"errmsg":"invalid parameter"}`)
			return
		}
		if r.URL.Path == "/robot/send" {
			ts, _ := strconv.ParseInt(r.URL.Query().Get("timestamp"), 10, 64)
			mac := hmac.New(sha256.New, []byte(secret))
			fmt.Fprintf(mac, "%d\n%s", ts, secret)
			if r.URL.Query().Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
				fmt.Fprint(w, `{"errcode":310000,"errmsg":"sign not match"}`)
				return
			}
		}
		rs.mu.Lock()
		rs.texts = append(rs.texts, r.URL.Path+" "+m.Text.Content)
		rs.mu.Unlock()
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *robotServer) count(sub string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, s := range rs.texts {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// The notices of a request queued by a daemon that died before sending them are sent by the next
// daemon, once: a daemon killed with SIGKILL after sending and started again sends none of them
// again (a notice queued after the restart shows that the new daemon's sender has run).
func TestServeSendsQueuedNoticesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := kaoqinBinary(t)
	rs := newRobotServer(t, "SECdaemon")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kaoqin.yaml")
	cfgText := "database: {driver: sqlite, dsn: '" + filepath.Join(dir, "k.db") + "'}\nhttp: {listen: '127.0.0.1:0'}\n" +
		"notify:\n  wecom:\n    - {name: 督查科群, url: '" + rs.URL + "/cgi-bin/webhook/send?key=k', to: ['*']}\n" +
		"  dingtalk:\n    - {name: 民政群, url: '" + rs.URL + "/robot/send?access_token=t', secret: SECdaemon, to: ['window_head:民政']}\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "migrate", "--config", cfgPath); code != 0 {
		t.Fatal(errs)
	}
	roster := writeFile(t, "staff.csv", "staff_id,name,window,unit\n1001,甲,民政,民政局\n1002,乙,民政,民政局\n")
	if code, _, errs := run(t, "import", "staff", "--config", cfgPath, roster); code != 0 {
		t.Fatal(errs)
	}
	// What the killed daemon did: file a request, queueing its notice to the window head.
	s := openForTest(t, cfgPath)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	router, _, err := notifyFromConfig(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	rules := attendance.DefaultRules()
	svc := &workflow.Service{Store: s, Rules: func() *attendance.Rules { return &rules }, Router: router}
	if _, _, err := svc.File(context.Background(), workflow.Request{Kind: workflow.KindLeave, StaffID: "1001", Type: leave.Personal,
		Start: wallAt("2026-07-07 08:30"), End: wallAt("2026-07-07 12:00"), FiledAt: wallAt("2026-07-06 09:00"), Reason: "办证"}, nil, "1001"); err != nil {
		t.Fatal(err)
	}
	if ns, _ := s.ListNotices(context.Background(), store.NoticeFilter{Unsent: true}); len(ns) != 2 {
		t.Fatalf("queued: %d notices, want 2 (both robots post for the window head)", len(ns))
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: robots got %q", what, rs.texts)
			}
			time.Sleep(50 * time.Millisecond) // polling the robots' server, which has no event to wait on
		}
	}
	d := startDaemon(t, bin, cfgPath)
	<-d.addr
	waitFor("the queued notices", func() bool { return rs.count("/cgi-bin/") == 1 && rs.count("/robot/") == 1 })
	// Wait until both are marked sent, then kill the daemon without a chance to clean up.
	waitFor("marked sent", func() bool {
		ns, _ := s.ListNotices(context.Background(), store.NoticeFilter{Unsent: true})
		return len(ns) == 0
	})
	d.kill(t, syscall.SIGKILL)
	d = startDaemon(t, bin, cfgPath)
	<-d.addr
	if err := s.QueueNotices(context.Background(), []store.Notice{{Key: "sentinel", Kind: "test", Channel: "wecom", Target: "督查科群",
		Subject: "sentinel", Body: "after the restart"}}); err != nil {
		t.Fatal(err)
	}
	waitFor("the sentinel", func() bool { return rs.count("sentinel") == 1 })
	if n, m := rs.count("/cgi-bin/")-1, rs.count("/robot/"); n != 1 || m != 1 {
		t.Errorf("after the restart: wecom got the request's notice %d times, dingtalk %d; want once each", n, m)
	}
	if err := d.kill(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, d.log.String())
	}
}
