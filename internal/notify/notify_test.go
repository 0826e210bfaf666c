package notify_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kaoqin/kaoqin/internal/notify"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/store/storetest"
)

var ctx = context.Background()

// sink is an SMTP server on 127.0.0.1:0 that keeps every message it accepts.
type sink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []sunk
}

type sunk struct {
	from, to string
	msg      *mail.Message
	body     string
}

func newSink(t *testing.T) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 sink ESMTP")
	var from, to string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-sink")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			from = angle(line)
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to = angle(line)
			if strings.HasPrefix(to, "nobody@") {
				say("550 no such user")
				continue
			}
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m, err := mail.ReadMessage(strings.NewReader(data.String()))
			if err != nil {
				say("554 bad message")
				continue
			}
			raw, _ := io.ReadAll(m.Body)
			body, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
			s.mu.Lock()
			s.msgs = append(s.msgs, sunk{from, to, m, string(body)})
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

// angle is the address between < and > of a MAIL FROM or RCPT TO line.
func angle(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

func (s *sink) got() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

func TestSMTPSend(t *testing.T) {
	sk := newSink(t)
	s := &notify.SMTP{Addr: sk.addr(), From: "kaoqin@center.example", TLS: "none", Timeout: 5 * time.Second}
	n := store.Notice{Key: "request_waiting|1|window_head|email:head@center.example", Channel: "email", Target: "head@center.example",
		Subject: "【待审批】张三 事假 2 天", Body: "张三申请事假：2026-07-06 08:30 至 2026-07-07 18:00。请审批。", CreatedAt: time.Now()}
	if err := s.Send(ctx, n); err != nil {
		t.Fatal(err)
	}
	got := sk.got()
	if len(got) != 1 {
		t.Fatalf("messages at the sink: got %d, want 1", len(got))
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(got[0].msg.Header.Get("Subject"))
	if got[0].to != n.Target || got[0].from != s.From || subj != n.Subject || got[0].body != n.Body {
		t.Errorf("message: got to %q from %q subject %q body %q", got[0].to, got[0].from, subj, got[0].body)
	}
	if id := got[0].msg.Header.Get("Message-ID"); !strings.HasSuffix(id, "@kaoqin>") {
		t.Errorf("Message-ID: got %q", id)
	}
	n.Target = "nobody@center.example"
	if err := s.Send(ctx, n); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("refused recipient: got %v, want the server's 550", err)
	}
	// A password is never sent where the server offers no STARTTLS.
	s.Username, s.Password, s.TLS = "kq", "secret", "starttls"
	if err := s.Send(ctx, n); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("password without TLS: got %v, want a refusal", err)
	}
}

// robots is an HTTP server standing in for WeCom's and DingTalk's robot endpoints: it checks the
// payload and, for DingTalk, the timestamp and signature, and answers as they do.
type robots struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	wecom  []string
	ding   []string
}

func newRobots(t *testing.T, secret string) *robots {
	rb := &robots{secret: secret}
	rb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := func(code int, msg string) { fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg) }
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			answer(40008, "invalid message type")
			return
		}
		var m struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.MsgType != "text" || m.Text.Content == "" {
			answer(40035, "invalid parameter")
			return
		}
		switch r.URL.Path {
		case "/cgi-bin/webhook/send":
			if r.URL.Query().Get("key") != "wecom-key" {
				answer(93000, "invalid webhook url")
				return
			}
			rb.mu.Lock()
			rb.wecom = append(rb.wecom, m.Text.Content)
			rb.mu.Unlock()
		case "/robot/send":
			q := r.URL.Query()
			ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
			mac := hmac.New(sha256.New, []byte(rb.secret))
			fmt.Fprintf(mac, "%d\n%s", ts, rb.secret)
			want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
			if q.Get("access_token") != "ding-token" || err != nil || q.Get("sign") != want ||
				time.Since(time.UnixMilli(ts)).Abs() > time.Hour {
				answer(310000, "sign not match")
				return
			}
			rb.mu.Lock()
			rb.ding = append(rb.ding, m.Text.Content)
			rb.mu.Unlock()
		default:
			http.NotFound(w, r)
			return
		}
		answer(0, "ok")
	}))
	t.Cleanup(rb.srv.Close)
	return rb
}

func TestRobots(t *testing.T) {
	rb := newRobots(t, "SEC0123456789abcdef")
	wh := &notify.Webhook{Robots: map[string]notify.Robot{
		"督查科群":  {Name: "督查科群", Channel: notify.ChannelWeCom, URL: rb.srv.URL + "/cgi-bin/webhook/send?key=wecom-key"},
		"钉钉督查":  {Name: "钉钉督查", Channel: notify.ChannelDingTalk, URL: rb.srv.URL + "/robot/send?access_token=ding-token", Secret: "SEC0123456789abcdef"},
		"错误密钥":  {Name: "错误密钥", Channel: notify.ChannelDingTalk, URL: rb.srv.URL + "/robot/send?access_token=ding-token", Secret: "SECwrong"},
		"错误key": {Name: "错误key", Channel: notify.ChannelWeCom, URL: rb.srv.URL + "/cgi-bin/webhook/send?key=other"},
	}}
	n := store.Notice{Subject: "【考勤机故障】大厅一号机", Body: strings.Repeat("无法读取。", 600)}
	cases := []struct {
		target string
		want   string // "" for success
	}{
		{"督查科群", ""}, {"钉钉督查", ""}, {"错误密钥", "errcode 310000"}, {"错误key", "errcode 93000"}, {"没有这个", "no robot"},
	}
	for _, c := range cases {
		n.Target = c.target
		err := wh.Send(ctx, n)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.target, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "wecom-key") {
			t.Errorf("%s: the robot's key leaked into the error: %v", c.target, err)
		}
	}
	if len(rb.wecom) != 1 || len(rb.ding) != 1 {
		t.Fatalf("posts accepted: wecom %d, dingtalk %d; want 1, 1", len(rb.wecom), len(rb.ding))
	}
	if !strings.HasPrefix(rb.wecom[0], n.Subject+"\n") || len(rb.wecom[0]) > 2048 {
		t.Errorf("wecom text: %d bytes, starts %q", len(rb.wecom[0]), rb.wecom[0][:40])
	}
}

func TestRouterAddresses(t *testing.T) {
	users := []store.User{
		{Name: "head1", Role: store.RoleWindowHead, Window: "民政", Email: "h1@x"},
		{Name: "head2", Role: store.RoleWindowHead, Window: "社保", Email: "h2@x"},
		{Name: "lead", Role: store.RoleCenterLeader, Email: "c@x"},
		{Name: "unit", Role: store.RoleUnitLeader, Unit: "民政局", Email: "u@x"},
		{Name: "zs", Role: store.RoleStaff, StaffID: "1001", Email: "zs@x"},
		{Name: "off", Role: store.RoleCenterLeader, Email: "off@x", Disabled: true},
		{Name: "nomail", Role: store.RoleCenterLeader},
	}
	aud := func(s string) notify.Audience {
		a, err := notify.ParseAudience(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	r := &notify.Router{Email: true, Users: func(context.Context) ([]store.User, error) { return users, nil },
		Robots: []notify.Robot{
			{Name: "all-heads", Channel: notify.ChannelWeCom, Audiences: []notify.Audience{aud("window_head")}},
			{Name: "minzheng", Channel: notify.ChannelDingTalk, Audiences: []notify.Audience{aud("window_head:民政"), aud("unit_leader:民政局")}},
			{Name: "super", Channel: notify.ChannelWeCom, Audiences: []notify.Audience{aud("supervisor")}},
		}}
	cases := []struct {
		to   string
		want string
	}{
		{"window_head:民政", "dingtalk:minzheng email:h1@x wecom:all-heads"},
		{"window_head:社保", "email:h2@x wecom:all-heads"},
		{"center_leader", "email:c@x"},
		{"unit_leader:民政局", "dingtalk:minzheng email:u@x"},
		{"staff:1001", "email:zs@x"},
		{"supervisor", "wecom:super"},
	}
	for _, c := range cases {
		ns, err := r.Deliveries(ctx, aud(c.to), notify.Message{Key: "k", Kind: "x", Subject: "s", Body: "b"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range ns {
			got = append(got, n.Channel+":"+n.Target)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %q, want %q", c.to, strings.Join(got, " "), c.want)
		}
	}
	if _, err := notify.ParseAudience("boss"); err == nil {
		t.Error("unknown audience: got nil error")
	}
}

const childEnv = "KAOQIN_NOTIFY_CHILD"

// blockingSender sends the first notice, then announces the second and never sends it: the
// parent kills the process there, between claiming and sending.
type blockingSender struct {
	next notify.Sender
	n    int
}

func (b *blockingSender) Send(ctx context.Context, n store.Notice) error {
	b.n++
	if b.n == 2 {
		fmt.Println("SENDING", n.Key)
		select {}
	}
	return b.next.Send(ctx, n)
}

// TestNoticeChild is the daemon that is killed; it runs only as the child of
// TestNoticesOnceAcrossKill.
func TestNoticeChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("runs as the child of TestNoticesOnceAcrossKill")
	}
	s, err := store.Open(ctx, "sqlite", path, store.Options{Location: storetest.Location})
	if err != nil {
		t.Fatal(err)
	}
	var ns []store.Notice
	for i := 0; i < 5; i++ {
		ns = append(ns, store.Notice{Key: fmt.Sprintf("request_waiting|%d|email:h@x", i), Kind: "request_waiting", Channel: "email",
			Target: "h@x", Subject: fmt.Sprintf("第 %d 件", i), Body: "请审批"})
	}
	for i := 0; i < 3; i++ {
		ch, target := notify.ChannelWeCom, "wecom"
		if i == 2 {
			ch, target = notify.ChannelDingTalk, "ding"
		}
		ns = append(ns, store.Notice{Key: fmt.Sprintf("clock_down|%d|%s", i, target), Kind: "clock_down", Channel: ch,
			Target: target, Subject: fmt.Sprintf("机器人 %d", i), Body: "考勤机无法读取"})
	}
	if err := s.QueueNotices(ctx, ns); err != nil {
		t.Fatal(err)
	}
	fmt.Println("QUEUED")
	w := &notify.Worker{Store: s, Name: "child", Lease: time.Second, Batch: 8,
		Sender: &blockingSender{next: channels(os.Getenv("KAOQIN_NOTIFY_SMTP"), os.Getenv("KAOQIN_NOTIFY_ROBOTS"))}}
	w.Once(ctx)
	t.Fatal("the child was not killed")
}

func channels(smtpAddr, robotsURL string) notify.Channels {
	wh := &notify.Webhook{Robots: map[string]notify.Robot{
		"wecom": {Name: "wecom", Channel: notify.ChannelWeCom, URL: robotsURL + "/cgi-bin/webhook/send?key=wecom-key"},
		"ding":  {Name: "ding", Channel: notify.ChannelDingTalk, URL: robotsURL + "/robot/send?access_token=ding-token", Secret: "SECkill"},
	}}
	return notify.Channels{notify.ChannelEmail: &notify.SMTP{Addr: smtpAddr, From: "k@x", TLS: "none"},
		notify.ChannelWeCom: wh, notify.ChannelDingTalk: wh}
}

// A daemon killed after queueing notices and claiming them, in the middle of sending: every
// notice still reaches the SMTP sink and the robots' server, and exactly once, when two other
// daemons take over.
func TestNoticesOnceAcrossKill(t *testing.T) {
	sk := newSink(t)
	rb := newRobots(t, "SECkill")
	path := filepath.Join(t.TempDir(), "kaoqin.db")
	s := storetest.Open(t, storetest.Backend{Name: "sqlite", Driver: "sqlite", DSN: path})
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoticeChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+path, "KAOQIN_NOTIFY_SMTP="+sk.addr(), "KAOQIN_NOTIFY_ROBOTS="+rb.srv.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var blocked string
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "SENDING "); ok {
			blocked = k
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if blocked == "" {
		t.Fatal("the child never reached its second send")
	}
	if n := len(sk.got()); n != 1 {
		t.Fatalf("before the kill the sink had %d messages, want 1", n)
	}
	// Two daemons take over; the child's claim ends after its one-second lease.
	chs := channels(sk.addr(), rb.srv.URL)
	robotPosts := func() int {
		rb.mu.Lock()
		defer rb.mu.Unlock()
		return len(rb.wecom) + len(rb.ding)
	}
	var wg sync.WaitGroup
	reg := prometheus.NewRegistry()
	metrics := notify.NewMetrics(reg)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := &notify.Worker{Store: s, Name: fmt.Sprint("d", i), Lease: time.Minute, Batch: 2, Sender: chs, Metrics: metrics}
			for (len(sk.got()) < 5 || robotPosts() < 3) && time.Now().Before(deadline) {
				if _, err := w.Once(ctx); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(20 * time.Millisecond) // polling interval while the lease runs out
			}
			w.Once(ctx)
		}(i)
	}
	wg.Wait()
	got := sk.got()
	seen := map[string]int{}
	for _, m := range got {
		subj, _ := new(mime.WordDecoder).DecodeHeader(m.msg.Header.Get("Subject"))
		seen[subj]++
	}
	if len(got) != 5 || len(seen) != 5 {
		t.Fatalf("messages at the sink: got %d (%v), want 5 distinct, each once", len(got), seen)
	}
	if got := testutil.ToFloat64(metrics.Sent.WithLabelValues("email")); got != 4 {
		t.Errorf("e-mails counted sent by the takeover: %v, want 4", got)
	}
	if got := testutil.ToFloat64(metrics.Pending); got != 0 {
		t.Errorf("pending after the takeover: %v, want 0", got)
	}
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", problems, err)
	}
	robotSeen := map[string]int{}
	for _, c := range append(append([]string(nil), rb.wecom...), rb.ding...) {
		robotSeen[strings.SplitN(c, "\n", 2)[0]]++
	}
	if len(rb.wecom) != 2 || len(rb.ding) != 1 || len(robotSeen) != 3 {
		t.Fatalf("robot posts: wecom %d, dingtalk %d (%v); want 2 and 1, each once", len(rb.wecom), len(rb.ding), robotSeen)
	}
	unsent, _ := s.ListNotices(ctx, store.NoticeFilter{Unsent: true})
	if len(unsent) != 0 {
		t.Errorf("unsent after the takeover: %d", len(unsent))
	}
}
