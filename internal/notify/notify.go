// Package notify delivers the notices of the approval workflow (issue 17) — to the approver a
// request waits for, to the staff member whose request was decided, to a window head listing who
// at the window has not signed in, to the supervision section when a clock is down during a
// punch window — by e-mail (SMTP) and by the group robots of WeCom and DingTalk.
//
// Every notice goes through the outbox in the database (store.Notice): it is queued in the
// transaction of what causes it, or by a scheduled check under a unique key, and a Worker claims
// rows with a lease, sends them and marks them sent. A notice therefore survives a restart, and
// several daemons send each notice once. The one window left is a sender killed after the
// destination accepted a message and before the row was marked: that message goes again when
// the lease ends (at least once there); e-mails carry the notice's key as Message-ID so that a
// mail client shows the repeat as one message.
package notify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kaoqin/kaoqin/internal/store"
)

// Audience is who a notice is for, in terms of accounts and robots.
type Audience struct {
	Role    string // a store.Role*; "" when StaffID names a person
	Window  string // a window head's window
	Unit    string // a unit leader's unit
	StaffID string // a staff member (their own account)
}

// String is how robots name the audiences they post for in the config: "supervisor",
// "center_leader", "hr", "window_head:<window>", "unit_leader:<unit>", "staff:<id>".
func (a Audience) String() string {
	switch {
	case a.StaffID != "" && a.Role == "":
		return "staff:" + a.StaffID
	case a.Window != "":
		return a.Role + ":" + a.Window
	case a.Unit != "":
		return a.Role + ":" + a.Unit
	}
	return a.Role
}

// ParseAudience parses an audience as String writes it ("*" is every audience).
func ParseAudience(s string) (Audience, error) {
	role, arg, has := strings.Cut(s, ":")
	switch {
	case s == "*":
		return Audience{Role: "*"}, nil
	case role == "staff" && has && arg != "":
		return Audience{StaffID: arg}, nil
	case role == store.RoleWindowHead && has && arg != "":
		return Audience{Role: role, Window: arg}, nil
	case role == store.RoleUnitLeader && has && arg != "":
		return Audience{Role: role, Unit: arg}, nil
	case !has && (role == store.RoleSupervisor || role == store.RoleCenterLeader || role == store.RoleHR ||
		role == store.RoleWindowHead || role == store.RoleUnitLeader):
		return Audience{Role: role}, nil
	}
	return Audience{}, fmt.Errorf("unknown audience %q; use supervisor, center_leader, hr, window_head[:WINDOW], unit_leader[:UNIT], staff:ID or *", s)
}

// matches reports whether a robot posting for pattern p gets notices for a: the same audience,
// a role without its window or unit (every window head), or "*".
func (p Audience) matches(a Audience) bool {
	if p.Role == "*" {
		return true
	}
	if p.StaffID != "" || a.StaffID != "" && a.Role == "" {
		return p.StaffID == a.StaffID && p.Role == a.Role
	}
	return p.Role == a.Role && (p.Window == "" || p.Window == a.Window) && (p.Unit == "" || p.Unit == a.Unit)
}

// Robot is a group robot of WeCom or DingTalk: a webhook, and the audiences it posts for.
type Robot struct {
	Name      string
	Channel   string // ChannelWeCom or ChannelDingTalk
	URL       string
	Secret    string // DingTalk's signing secret (SEC…); "" when the robot does not sign
	Audiences []Audience
}

// The channels.
const (
	ChannelEmail    = "email"
	ChannelWeCom    = "wecom"
	ChannelDingTalk = "dingtalk"
)

// Message is one notice before it is addressed.
type Message struct {
	// Key identifies the notice (what it is about: a request and its step, a window and a time);
	// each delivery's key adds its destination.
	Key     string
	Kind    string
	Subject string
	Body    string
}

// Router addresses messages: to the e-mail of every account of the audience that has one, and
// to every robot that posts for it.
type Router struct {
	Users  func(ctx context.Context) ([]store.User, error)
	Robots []Robot
	// Email is false when no SMTP server is configured: accounts' addresses are then skipped.
	Email bool
}

// Deliveries returns the outbox rows that carry m to a.
func (r *Router) Deliveries(ctx context.Context, a Audience, m Message) ([]store.Notice, error) {
	var out []store.Notice
	add := func(channel, target string) {
		out = append(out, store.Notice{Key: m.Key + "|" + channel + ":" + target, Kind: m.Kind, Channel: channel, Target: target,
			Subject: m.Subject, Body: m.Body})
	}
	if r.Email && r.Users != nil {
		us, err := r.Users(ctx)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, u := range us {
			if u.Disabled || u.Email == "" || seen[u.Email] || !accountIs(u, a) {
				continue
			}
			seen[u.Email] = true
			add(ChannelEmail, u.Email)
		}
	}
	for _, rb := range r.Robots {
		for _, p := range rb.Audiences {
			if p.matches(a) {
				add(rb.Channel, rb.Name)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for i := range out {
		if len(out[i].Key) > 190 {
			// Keys name their destination; an absurdly long address is cut, keeping it unique
			// enough (the outbox refuses keys over 190 bytes).
			out[i].Key = out[i].Key[:190]
		}
	}
	return out, nil
}

func accountIs(u store.User, a Audience) bool {
	if a.StaffID != "" && a.Role == "" {
		return u.StaffID == a.StaffID && (u.Role == store.RoleStaff || u.Role == store.RoleWindowHead)
	}
	if u.Role != a.Role {
		return false
	}
	switch a.Role {
	case store.RoleWindowHead:
		return a.Window == "" || u.Window == a.Window
	case store.RoleUnitLeader:
		return a.Unit == "" || u.Unit == a.Unit
	}
	return true
}

// Queue addresses m to every audience and queues it; a notice already queued under the same key
// is not queued again.
func Queue(ctx context.Context, st *store.Store, r *Router, m Message, to ...Audience) error {
	var all []store.Notice
	for _, a := range to {
		ns, err := r.Deliveries(ctx, a, m)
		if err != nil {
			return err
		}
		all = append(all, ns...)
	}
	return st.QueueNotices(ctx, all)
}
