package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/notify"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/internal/web"
	"github.com/kaoqin/kaoqin/workflow"
)

// The approval workflow from the command line (issue 17): requests, notices, annual leave
// balances, and staff accounts from the roster. The pages do the same through package workflow.

// notifyFromConfig builds the notices' router and senders from the config.
func notifyFromConfig(cfg *config.Config, st *store.Store) (*notify.Router, notify.Channels, error) {
	r := &notify.Router{Users: st.ListUsers}
	ch := notify.Channels{}
	if s := cfg.Notify.SMTP; s != nil {
		pw := ""
		if s.PasswordFile != "" {
			b, err := os.ReadFile(s.PasswordFile)
			if err != nil {
				return nil, nil, fmt.Errorf("notify.smtp.password_file: %w", err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		tlsMode := s.TLS
		if tlsMode == "" {
			tlsMode = "starttls"
		}
		ch[notify.ChannelEmail] = &notify.SMTP{Addr: s.Address, From: s.From, Username: s.Username, Password: pw, TLS: tlsMode}
		r.Email = true
	}
	wh := &notify.Webhook{Robots: map[string]notify.Robot{}}
	for _, list := range []struct {
		channel string
		robots  []config.Robot
	}{{notify.ChannelWeCom, cfg.Notify.WeCom}, {notify.ChannelDingTalk, cfg.Notify.DingTalk}} {
		for _, rb := range list.robots {
			nr := notify.Robot{Name: rb.Name, Channel: list.channel, URL: rb.URL.Value, Secret: rb.Secret.Value}
			for _, a := range rb.To {
				aud, err := notify.ParseAudience(a)
				if err != nil {
					return nil, nil, fmt.Errorf("robot %s: %w", rb.Name, err)
				}
				nr.Audiences = append(nr.Audiences, aud)
			}
			r.Robots = append(r.Robots, nr)
			wh.Robots[rb.Name] = nr
		}
	}
	if len(wh.Robots) > 0 {
		ch[notify.ChannelWeCom] = wh
		ch[notify.ChannelDingTalk] = wh
	}
	return r, ch, nil
}

// notSignedInTimes parses notify.not_signed_in_at (validated by the config).
func notSignedInTimes(cfg *config.Config) []attendance.Minute {
	var out []attendance.Minute
	for _, t := range cfg.Notify.NotSignedInAt {
		if m, err := config.Minutes(t); err == nil {
			out = append(out, attendance.Minute(m))
		}
	}
	return out
}

// workflowService opens what the request commands need.
func (e *env) workflowService(ctx context.Context, f *flags) (*workflow.Service, *store.Store, int, bool) {
	cfg, st, code, ok := f.openStore(ctx)
	if !ok {
		return nil, nil, code, false
	}
	rules, err := rulesFromConfig(cfg)
	if err != nil {
		st.Close()
		fmt.Fprintln(e.stderr, err)
		return nil, nil, exitUsage, false
	}
	router, _, err := notifyFromConfig(cfg, st)
	if err != nil {
		st.Close()
		fmt.Fprintln(e.stderr, "kaoqin:", err)
		return nil, nil, exitUsage, false
	}
	return &workflow.Service{Store: st, Rules: func() *attendance.Rules { return &rules }, Router: router, BaseURL: cfg.Notify.BaseURL}, st, 0, true
}

func runRequestsList(ctx context.Context, e *env, args []string) int {
	f := e.flags("requests list", "requests list [--config FILE] [--state pending|recognised|unrecognised|rejected] [--staff ID]\n\n"+
		"Lists the requests staff filed (leave, clock-failure reports, 补卡), newest first.")
	state := f.String("state", "", "only requests in this state")
	staff := f.String("staff", "", "only this staff member's")
	if code, ok := f.parse(args); !ok {
		return code
	}
	_, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	qs, err := st.ListRequests(ctx, store.RequestFilter{State: *state, StaffID: *staff})
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin requests list:", err)
		return exitFail
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTAFF\tFROM\tTO\tFILED\tSTATE\tWAITING FOR")
	for _, q := range qs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", q.ID, q.Kind+" "+q.LeaveType+q.Punch, q.StaffID, q.Start.Format("2006-01-02 15:04"),
			q.End.Format("2006-01-02 15:04"), q.FiledAt.Format("2006-01-02 15:04"), q.State, q.NextStep)
	}
	tw.Flush()
	return exitOK
}

func runRequestsDecide(ctx context.Context, e *env, args []string) int {
	f := e.flags("requests decide", "requests decide [--config FILE] --as USER (--approve [--stamp] | --reject) [--comment TEXT] ID\n\n"+
		"Decides request ID at its next step as the account USER (who must be that step's approver).")
	as := f.String("as", "", "the approver's account")
	approve := f.Bool("approve", false, "approve")
	reject := f.Bool("reject", false, "reject (needs --comment)")
	stamp := f.Bool("stamp", false, "the unit's stamp is affixed (the unit leader's step)")
	comment := f.String("comment", "", "the approver's comment")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	id, err := strconv.ParseInt(strings.Join(pos, ""), 10, 64)
	if len(pos) != 1 || err != nil || *as == "" || *approve == *reject {
		fmt.Fprintln(e.stderr, "kaoqin requests decide: give one request ID, --as USER and one of --approve or --reject")
		return exitUsage
	}
	svc, st, code, ok := e.workflowService(ctx, f)
	if !ok {
		return code
	}
	defer st.Close()
	u, err := st.GetUser(ctx, *as)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin requests decide: user %s: %v\n", *as, err)
		return exitUsage
	}
	q, err := svc.Decide(ctx, id, u, *approve, *stamp, *comment)
	switch {
	case errors.Is(err, workflow.ErrBadRequest), errors.Is(err, workflow.ErrForbidden), errors.Is(err, store.ErrNotFound):
		fmt.Fprintln(e.stderr, "kaoqin requests decide:", err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(e.stderr, "kaoqin requests decide:", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "request %d: %s", id, q.State)
	if q.NextStep != "" {
		fmt.Fprintf(e.stdout, ", waiting for %s", q.NextStep)
	}
	fmt.Fprintln(e.stdout)
	for _, v := range q.Verdict {
		fmt.Fprintln(e.stdout, "  "+v)
	}
	return exitOK
}

func runNoticesList(ctx context.Context, e *env, args []string) int {
	f := e.flags("notices list", "notices list [--config FILE] [--unsent] [--limit N]\n\nLists the notices outbox, newest first, with each one's attempts and last error.")
	unsent := f.Bool("unsent", false, "only notices not sent yet")
	limit := f.Int("limit", 50, "at most this many")
	if code, ok := f.parse(args); !ok {
		return code
	}
	_, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	ns, err := st.ListNotices(ctx, store.NoticeFilter{Unsent: *unsent, Limit: *limit})
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin notices list:", err)
		return exitFail
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tCHANNEL\tTARGET\tQUEUED\tSENT\tATTEMPTS\tLAST ERROR\tSUBJECT")
	for _, n := range ns {
		sent := "-"
		if !n.SentAt.IsZero() {
			sent = n.SentAt.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.ID, n.Kind, n.Channel, n.Target, n.CreatedAt.Format("2006-01-02 15:04:05"),
			sent, n.Attempts, n.LastError, n.Subject)
	}
	tw.Flush()
	return exitOK
}

func runNoticesSend(ctx context.Context, e *env, args []string) int {
	f := e.flags("notices send", "notices send [--config FILE]\n\nSends the notices that are due now, once, as the daemon would (for a test of the channels).")
	if code, ok := f.parse(args); !ok {
		return code
	}
	cfg, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	_, ch, err := notifyFromConfig(cfg, st)
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin notices send:", err)
		return exitUsage
	}
	sent := 0
	w := &notify.Worker{Store: st, Sender: ch, Log: e.logger(cfg.Location()), Name: "cli", OnSent: func(store.Notice) { sent++ }}
	for {
		n, err := w.Once(ctx)
		if err != nil {
			fmt.Fprintln(e.stderr, "kaoqin notices send:", err)
			return exitFail
		}
		if n == 0 {
			break
		}
	}
	fmt.Fprintf(e.stdout, "%d notices sent\n", sent)
	return exitOK
}

func runBalanceSet(ctx context.Context, e *env, args []string) int {
	f := e.flags("balance set", "balance set [--config FILE] [--actor NAME] STAFF_ID YEAR DAYS\n\n"+
		"Sets a staff member's annual leave (年休假) days for a year, in half days (HR).")
	actor := f.String("actor", defaultActor(), "who sets it, for the audit log")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(pos) != 3 {
		fmt.Fprintln(e.stderr, "kaoqin balance set: give STAFF_ID YEAR DAYS")
		return exitUsage
	}
	year, err1 := strconv.Atoi(pos[1])
	days, err2 := strconv.ParseFloat(pos[2], 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintf(e.stderr, "kaoqin balance set: YEAR %q and DAYS %q must be numbers (DAYS in half days, such as 7.5)\n", pos[1], pos[2])
		return exitUsage
	}
	_, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	if err := st.SetAnnualLeave(ctx, pos[0], year, days, *actor); err != nil {
		fmt.Fprintln(e.stderr, "kaoqin balance set:", err)
		if errors.Is(err, store.ErrBadInput) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s %d: %.1f days of annual leave\n", pos[0], year, days)
	return exitOK
}

func runBalanceList(ctx context.Context, e *env, args []string) int {
	f := e.flags("balance list", "balance list [--config FILE] [--year YYYY] [--staff ID]\n\nLists annual leave granted, used (recognised annual leave in the results) and left.")
	year := f.Int("year", time.Now().Year(), "the year")
	staff := f.String("staff", "", "only this staff member")
	if code, ok := f.parse(args); !ok {
		return code
	}
	_, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	bs, err := st.AnnualLeave(ctx, *staff, *year)
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin balance list:", err)
		if errors.Is(err, store.ErrNotFound) {
			return exitUsage
		}
		return exitFail
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAFF\tNAME\tWINDOW\tGRANTED\tUSED\tLEFT")
	for _, b := range bs {
		granted := "-"
		if b.Set {
			granted = strconv.FormatFloat(b.Granted, 'f', 1, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%.1f\n", b.StaffID, b.Name, b.Window, granted, b.Used, b.Left())
	}
	tw.Flush()
	return exitOK
}

func runUserRoster(ctx context.Context, e *env, args []string) int {
	f := e.flags("user roster", "user roster [--config FILE] [--actor NAME]\n\n"+
		"Creates a staff account (role staff, named by the staff id) for every active staff member of the\n"+
		"roster who has none, each with a random initial password, printed once as STAFF_ID<TAB>PASSWORD\n"+
		"on standard output for HR to hand out. Existing accounts are left alone.")
	actor := f.String("actor", defaultActor(), "who creates them, for the audit log")
	if code, ok := f.parse(args); !ok {
		return code
	}
	_, st, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer st.Close()
	staff, err := st.ListStaff(ctx)
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin user roster:", err)
		return exitFail
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		fmt.Fprintln(e.stderr, "kaoqin user roster:", err)
		return exitFail
	}
	have := map[string]bool{}
	for _, u := range users {
		have[u.Name] = true
		if u.StaffID != "" {
			have["staff:"+u.StaffID] = true
		}
	}
	n := 0
	for _, s := range staff {
		if !s.Active || have[s.StaffID] || have["staff:"+s.StaffID] {
			continue
		}
		pw := randomPassword()
		h, err := web.HashPassword(pw)
		if err == nil {
			err = st.AddUser(ctx, store.User{Name: s.StaffID, PasswordHash: h, Role: store.RoleStaff, StaffID: s.StaffID}, *actor)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin user roster: %s: %v\n", s.StaffID, err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", s.StaffID, pw)
		n++
	}
	fmt.Fprintf(e.stderr, "kaoqin user roster: %d staff accounts created\n", n)
	return exitOK
}

// randomPassword is 12 characters without look-alikes (0/O, 1/l/I), for reading off a slip.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// startNotify starts the daemon's notices: the outbox worker and the scheduled checks. It returns
// the workflow service the dashboard files and decides requests through, and a stop function that
// waits for both to finish.
func startNotify(ctx context.Context, cfg *config.Config, st *store.Store, rules *attendance.Rules, log *slog.Logger,
	reg prometheus.Registerer, leader func() bool, wakeResults func(), clocks func() []string) (*workflow.Service, func(), error) {
	router, ch, err := notifyFromConfig(cfg, st)
	if err != nil {
		return nil, nil, err
	}
	slogger := log.With("component", "notify")
	worker := &notify.Worker{Store: st, Sender: ch, Log: slogger, Name: identity(cfg), Metrics: notify.NewMetrics(reg)}
	sched := &notify.Scheduler{Store: st, Router: router, Rules: func() *attendance.Rules { return rules }, Clocks: clocks,
		Times: notSignedInTimes(cfg), ClockDownAfter: cfg.Notify.ClockDownAfter.Std(), Leader: leader, Owner: identity(cfg), Log: slogger,
		Queued: worker.Wake}
	svc := &workflow.Service{Store: st, Rules: func() *attendance.Rules { return rules }, Router: router, BaseURL: cfg.Notify.BaseURL,
		Wake: wakeResults, WakeNotices: worker.Wake}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { worker.Run(ctx); done <- struct{}{} }()
	go func() { sched.Run(ctx); done <- struct{}{} }()
	return svc, func() { cancel(); <-done; <-done }, nil
}

// attachmentsFromConfig is where the dashboard keeps attachments and how large one may be.
func attachmentsFromConfig(cfg *config.Config) web.AttachmentOptions {
	return web.AttachmentOptions{Dir: cfg.Workflow.AttachmentsDir, MaxBytes: cfg.Workflow.AttachmentMaxBytes}
}
