package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strconv"
	"time"

	"github.com/kaoqin/kaoqin/internal/store"
)

// Sender delivers one notice on its channel.
type Sender interface {
	Send(ctx context.Context, n store.Notice) error
}

// ErrPermanent marks a failure that retrying cannot fix (a robot's key refused, an address the
// server rejects); the worker still retries it (a key may be fixed in the config), but logs it
// as an error rather than a warning.
var ErrPermanent = errors.New("notify: refused")

// SMTP sends e-mail through one server.
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string // "" for no authentication
	Password string
	// TLS: "starttls" (upgrade when offered; required with a username), "tls" (implicit TLS, port
	// 465) or "none".
	TLS string
	// TLSConfig overrides the TLS settings (tests).
	TLSConfig *tls.Config
	Timeout   time.Duration
	// Hostname is what kaoqin says in HELO ("kaoqin" by default).
	Hostname string
}

// Send sends n to n.Target.
func (s *SMTP) Send(ctx context.Context, n store.Notice) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", s.Addr, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if s.TLS == "tls" {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	hn := s.Hostname
	if hn == "" {
		hn = "kaoqin"
	}
	if err := c.Hello(hn); err != nil {
		return fmt.Errorf("smtp: HELO: %w", err)
	}
	if s.TLS == "starttls" || s.TLS == "" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		} else if s.Username != "" {
			// Never send a password in the clear: net/smtp's PlainAuth refuses it too.
			return fmt.Errorf("%w: smtp server %s offers no STARTTLS; refusing to send the password unencrypted", ErrPermanent, s.Addr)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("%w: smtp: AUTH: %v", ErrPermanent, err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(n.Target); err != nil {
		return fmt.Errorf("%w: smtp: RCPT TO %s: %v", ErrPermanent, n.Target, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(message(s.From, n)); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	return c.Quit()
}

// message is n as an RFC 5322 message: UTF-8 text in base64, the subject RFC 2047-encoded, and
// the notice's key as Message-ID, so that a repeat after a crash is recognisably the same message.
func message(from string, n store.Notice) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", n.Target)
	h("Subject", mime.BEncoding.Encode("utf-8", n.Subject))
	h("Date", time.Now().Format(time.RFC1123Z)) // an instant with the process's offset
	h("Message-ID", "<"+messageID(n.Key)+"@kaoqin>")
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(n.Body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

func messageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("%x", sum[:12])
}

// Webhook posts to the group robots of WeCom and DingTalk, by robot name.
type Webhook struct {
	Robots map[string]Robot
	Client *http.Client
	// Now is the current instant, for DingTalk's signature (time.Now by default).
	Now func() time.Time
}

// robotText is the text message both robots take: {"msgtype":"text","text":{"content":...}}.
type robotText struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

// The robots cap a text message (WeCom: 2048 bytes); longer bodies are cut on a rune boundary.
const maxRobotText = 2000

// Send posts n to the robot it names.
func (w *Webhook) Send(ctx context.Context, n store.Notice) error {
	rb, ok := w.Robots[n.Target]
	if !ok {
		return fmt.Errorf("%w: no robot %q is configured (it was removed from the config after the notice was queued)", ErrPermanent, n.Target)
	}
	var msg robotText
	msg.MsgType = "text"
	msg.Text.Content = truncate(n.Subject+"\n"+n.Body, maxRobotText)
	body, _ := json.Marshal(msg)
	target := rb.URL
	if rb.Channel == ChannelDingTalk && rb.Secret != "" {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		ts := now().UnixMilli()
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("%w: robot %s: bad url: %v", ErrPermanent, rb.Name, err)
		}
		q := u.Query()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", DingTalkSign(ts, rb.Secret))
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: robot %s: %v", ErrPermanent, rb.Name, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("robot %s: %w", rb.Name, redactURL(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("robot %s: HTTP %d: %s", rb.Name, resp.StatusCode, truncate(string(data), 200))
	}
	// Both robots answer 200 with {"errcode":0,"errmsg":"ok"}, and a refusal also with 200 and
	// a non-zero errcode (310000 a bad signature, 93000 an invalid key, 45009 the rate limit).
	var ans struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &ans); err != nil || ans.ErrCode == nil {
		return fmt.Errorf("robot %s: unexpected answer %q", rb.Name, truncate(string(data), 200))
	}
	switch *ans.ErrCode {
	case 0:
		return nil
	case 45009, 130101, 660026:
		return fmt.Errorf("robot %s: rate limited (errcode %d: %s)", rb.Name, *ans.ErrCode, ans.ErrMsg)
	}
	return fmt.Errorf("%w: robot %s: errcode %d: %s", ErrPermanent, rb.Name, *ans.ErrCode, ans.ErrMsg)
}

// DingTalkSign is the signature of a DingTalk robot's request at ts (Unix milliseconds):
// Base64(HMAC-SHA256(secret, ts + "\n" + secret)); the caller URL-encodes it as a query value.
func DingTalkSign(ts int64, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// redactURL keeps a robot's key, which sits in its URL, out of logs and the outbox's last_error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Channels maps each channel to its sender.
type Channels map[string]Sender

// Send sends n on its channel.
func (c Channels) Send(ctx context.Context, n store.Notice) error {
	s, ok := c[n.Channel]
	if !ok {
		return fmt.Errorf("%w: channel %q is not configured", ErrPermanent, n.Channel)
	}
	return s.Send(ctx, n)
}
