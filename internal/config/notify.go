package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Workflow configures what staff file themselves (issue 17).
type Workflow struct {
	// AttachmentsDir keeps attachments as files in this directory (relative to the config file's
	// directory); "" keeps them in the database.
	AttachmentsDir string `yaml:"attachments_dir"`
	// AttachmentMaxBytes caps one attachment (PDF, JPEG or PNG); 5 MiB by default, 8 MiB at most.
	AttachmentMaxBytes int64 `yaml:"attachment_max_bytes"`
}

// Notify configures the notices: when they are sent and by which channels.
type Notify struct {
	// NotSignedInAt are the times ("HH:MM") at which each window head is told who at the window
	// has not signed in for the current segment, such as 08:55 and 14:55.
	NotSignedInAt []string `yaml:"not_signed_in_at"`
	// ClockDownAfter: a clock not read successfully for this long inside a punch window is
	// reported to the supervision section (5m by default).
	ClockDownAfter Duration `yaml:"clock_down_after"`
	// BaseURL is the dashboard's address as people reach it, for the links in notices.
	BaseURL string `yaml:"base_url"`
	// SMTP sends e-mail to the accounts that have an address; nil for no e-mail.
	SMTP *SMTP `yaml:"smtp"`
	// WeCom and DingTalk are group robots, each posting the notices of the audiences it lists.
	WeCom    []Robot `yaml:"wecom"`
	DingTalk []Robot `yaml:"dingtalk"`
}

// SMTP is the mail server notices go through.
type SMTP struct {
	Address  string `yaml:"address"` // host:port
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	// PasswordFile holds the password (relative to the config file's directory), so that the
	// config itself carries no secret.
	PasswordFile string `yaml:"password_file"`
	// TLS is "starttls" (the default), "tls" (implicit, port 465) or "none".
	TLS string `yaml:"tls"`
}

// Robot is one group robot.
type Robot struct {
	Name string `yaml:"name"`
	// URL is the robot's webhook, key or access token included: a secret, never printed.
	URL SecretText `yaml:"url"`
	// Secret is a DingTalk robot's signing secret (SEC…), a secret; unset for a robot that
	// checks keywords or addresses instead.
	Secret SecretText `yaml:"secret"`
	// To lists the audiences: supervisor, center_leader, hr, window_head[:WINDOW],
	// unit_leader[:UNIT], staff:ID, or * for every notice.
	To []string `yaml:"to"`
}

// SecretText is a text value that never appears in logs or printed configs.
type SecretText struct {
	Value string
	Set   bool
}

// UnmarshalYAML reads a string.
func (s *SecretText) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a string", n.Line)}}
	}
	s.Value, s.Set = n.Value, true
	return nil
}

// String hides the value.
func (s SecretText) String() string {
	if !s.Set {
		return ""
	}
	return "******"
}

// MarshalYAML hides the value.
func (s SecretText) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue hides the value from slog.
func (s SecretText) LogValue() any { return s.String() }

// Audience names a notice's audience: what a robot's "to" may list.
func validAudience(a string) bool {
	role, arg, has := strings.Cut(a, ":")
	switch role {
	case "*":
		return !has
	case "supervisor", "center_leader", "hr":
		return !has
	case "window_head", "unit_leader":
		return !has || arg != ""
	case "staff":
		return has && arg != ""
	}
	return false
}

func (c *Config) validateNotify(v *validator) {
	w := c.Workflow
	if w.AttachmentMaxBytes < 0 || w.AttachmentMaxBytes > 8<<20 {
		v.add("workflow.attachment_max_bytes", "%d is out of range; use up to 8388608 (8 MiB), or leave it out for 5 MiB", w.AttachmentMaxBytes)
	}
	n := c.Notify
	for i, t := range n.NotSignedInAt {
		if _, err := Minutes(t); err != nil {
			v.add(fmt.Sprintf("notify.not_signed_in_at[%d]", i), "%q is not a time of day; write it as HH:MM, such as 08:55", t)
		}
	}
	if d := n.ClockDownAfter.Std(); d < 0 || d > 2*time.Hour {
		v.add("notify.clock_down_after", "%s is out of range; use 1m to 2h", d)
	}
	if n.BaseURL != "" {
		if u, err := url.Parse(n.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("notify.base_url", "%q is not an http or https address; write it like https://kaoqin.center.example", n.BaseURL)
		}
	}
	if s := n.SMTP; s != nil {
		if _, _, err := net.SplitHostPort(s.Address); err != nil || s.Address == "" {
			v.add("notify.smtp.address", "%q is not host:port; write it like mail.center.example:587", s.Address)
		}
		if !strings.Contains(s.From, "@") {
			v.add("notify.smtp.from", "%q is not an e-mail address; give the sender, such as kaoqin@center.example", s.From)
		}
		switch s.TLS {
		case "", "starttls", "tls":
		case "none":
			if s.Username != "" {
				v.add("notify.smtp.tls", "none with a username would send the password unencrypted; use starttls or tls")
			}
		default:
			v.add("notify.smtp.tls", "unknown %q; use starttls, tls or none", s.TLS)
		}
		if (s.Username == "") != (s.PasswordFile == "") {
			v.add("notify.smtp.password_file", "username and password_file go together; give both or neither")
		}
	}
	names := map[string]bool{}
	for _, list := range []struct {
		key    string
		robots []Robot
	}{{"notify.wecom", n.WeCom}, {"notify.dingtalk", n.DingTalk}} {
		for i, r := range list.robots {
			p := fmt.Sprintf("%s[%d]", list.key, i)
			switch {
			case r.Name == "":
				v.add(p+".name", "is empty; give the robot a name (its group's, such as 督查科群)")
			case names[r.Name]:
				v.add(p+".name", "robot %q is listed twice; every robot needs its own name", r.Name)
			}
			names[r.Name] = true
			if u, err := url.Parse(r.URL.Value); !r.URL.Set || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.add(p+".url", "is not an http or https address; copy the robot's webhook address from the group's robot settings")
			}
			if r.Secret.Set && list.key == "notify.wecom" {
				v.add(p+".secret", "WeCom robots do not sign their requests; only dingtalk robots take a secret")
			}
			if len(r.To) == 0 {
				v.add(p+".to", "lists no audience; give at least one, such as supervisor or window_head:民政")
			}
			for j, a := range r.To {
				if !validAudience(a) {
					v.add(fmt.Sprintf("%s.to[%d]", p, j), "unknown audience %q; use supervisor, center_leader, hr, window_head[:WINDOW], unit_leader[:UNIT], staff:ID or *", a)
				}
			}
		}
	}
}
