package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/reports"
)

// Month closing (rules.md R19: after HR closes a month its results change only through a recorded
// correction), corrections, and recomputation on demand.

func defaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// worker opens the store and a results worker on the configured rules.
func (e *env) worker(ctx context.Context, f *flags) (*store.Store, *results.Worker, *config.Config, int, bool) {
	cfg, code, ok := f.loadConfig()
	if !ok {
		return nil, nil, nil, code, false
	}
	rules, err := rulesFromConfig(cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, nil, nil, exitUsage, false
	}
	s, code, ok := e.openStore(ctx, cfg, false)
	if !ok {
		return nil, nil, nil, code, false
	}
	w := results.New(results.Options{Store: s, Rules: &rules, Logger: e.logger(cfg.Location())})
	return s, w, cfg, 0, true
}

// recomputeAll recomputes from..to for every active staff member and everyone with a result in
// the range (an inactive member's history is kept current too).
func recomputeAll(ctx context.Context, s *store.Store, w *results.Worker, staffID string, from, to attendance.Date) (staff, written, skipped int, err error) {
	var ids []string
	if staffID != "" {
		if _, err := s.GetStaff(ctx, staffID); err != nil {
			return 0, 0, 0, fmt.Errorf("staff %q: %w", staffID, err)
		}
		ids = []string{staffID}
	} else {
		all, err := s.ListStaff(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		have, err := s.ResultDays(ctx, from.Time(), to.Time())
		if err != nil {
			return 0, 0, 0, err
		}
		with := map[string]bool{}
		for d := range have {
			with[d.StaffID] = true
		}
		for _, st := range all {
			if st.Active || with[st.StaffID] {
				ids = append(ids, st.StaffID)
			}
		}
	}
	for _, id := range ids {
		n, sk, err := w.RecomputeRange(ctx, id, from, to)
		if err != nil {
			return staff, written, skipped, fmt.Errorf("recompute %s: %w", id, err)
		}
		staff++
		written += n
		skipped = max(skipped, sk)
	}
	return staff, written, skipped, nil
}

func monthRange(m string) (from, to attendance.Date, err error) {
	t, err := time.Parse("2006-01", m)
	if err != nil || len(m) != 7 {
		return 0, 0, fmt.Errorf("month %q: want YYYY-MM", m)
	}
	from = attendance.DateOf(t)
	return from, attendance.DateOf(t.AddDate(0, 1, -1)), nil
}

func runMonthClose(ctx context.Context, e *env, args []string) int {
	f := e.flags("month close", "month close [--config FILE] [--actor NAME] [--force] --confirm YYYY-MM YYYY-MM\n\n"+
		"Recomputes every result of the month from all stored inputs, shows the month's totals, how many\n"+
		"results are still provisional and which clocks were not read since the month ended, then closes\n"+
		"it when --confirm repeats the month: from then on its results change only by `kaoqin month\n"+
		"correct`. A closing cannot be undone (docs/operations.md). Refuses while results are provisional\n"+
		"(a clock not read past a sign-out window may still hold punches) unless --force.")
	actor := f.String("actor", defaultActor(), "who closes the month, for the record and the audit log")
	force := f.Bool("force", false, "close even with provisional results (a clock that will never be read again)")
	confirm := f.String("confirm", "", "the month again (`YYYY-MM`), to confirm the closing; without it, only the summary is shown")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "kaoqin month close: give exactly one month, YYYY-MM")
		return exitUsage
	}
	month := pos[0]
	from, to, err := monthRange(month)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v\n", err)
		return exitUsage
	}
	s, w, cfg, code, ok := e.worker(ctx, f)
	if !ok {
		return code
	}
	defer s.Close()
	if today := attendance.DateOf(store.Wall(time.Now(), cfg.Location())); to >= today {
		fmt.Fprintf(e.stderr, "kaoqin month close: %s has not ended (today is %s); a month is closed after its last day\n", month, today)
		return exitUsage
	}
	if c, err := s.GetMonthClosing(ctx, month); err == nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %s was closed by %s at %s\n", month, c.ClosedBy, store.WallString(c.ClosedAt))
		return exitFail
	} else if !errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v\n", err)
		return exitFail
	}
	staff, _, _, err := recomputeAll(ctx, s, w, "", from, to)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v; the month stays open\n", err)
		return exitFail
	}
	prov, err := s.Provisional(ctx, from.Time(), to.Time())
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v\n", err)
		return exitFail
	}
	if err := e.closeSummary(ctx, s, cfg, month, len(prov)); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v\n", err)
		return exitFail
	}
	if len(prov) > 0 {
		var ex []string
		for _, p := range prov[:min(len(prov), 5)] {
			ex = append(ex, p.StaffID+" "+p.Day+" "+p.Segment)
		}
		if !*force {
			fmt.Fprintf(e.stderr, "kaoqin month close: %s has %d provisional results (%s…): a clock of those staff has not been read past the sign-out window and may still hold punches.\n"+
				"Let kaoqin serve read the clocks and retry, or close anyway with --force if a clock will never be read.\n", month, len(prov), strings.Join(ex, ", "))
			return exitFail
		}
		fmt.Fprintf(e.stderr, "warning: closing %s with %d provisional results (%s…)\n", month, len(prov), strings.Join(ex, ", "))
	}
	if *confirm != month {
		if *confirm != "" {
			fmt.Fprintf(e.stderr, "kaoqin month close: --confirm %s does not repeat the month %s; nothing closed\n", *confirm, month)
		} else {
			fmt.Fprintf(e.stderr, "kaoqin month close: nothing closed; to close %s, run again with --confirm %s (a closing cannot be undone: later changes go through kaoqin month correct)\n", month, month)
		}
		return exitUsage
	}
	if err := s.CloseMonth(ctx, month, *actor); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month close: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s closed by %s: results of %d staff recomputed from all inputs (%d provisional); from now on only corrections change them\n",
		month, *actor, staff, len(prov))
	return exitOK
}

// closeSummary prints what HR checks before closing: the month's totals, the provisional results,
// and the configured clocks not read since the month ended.
func (e *env) closeSummary(ctx context.Context, s *store.Store, cfg *config.Config, month string, provisional int) error {
	m, err := reports.ParseMonth(month)
	if err != nil {
		return err
	}
	rules, err := rulesFromConfig(cfg)
	if err != nil {
		return err
	}
	in, err := monthFromStore(ctx, s, &rules, m)
	if err != nil {
		return err
	}
	t := reports.BuildMonth(in).Total
	half := func(n int) string { return strconv.FormatFloat(float64(n)/2, 'f', 1, 64) }
	fmt.Fprintf(e.stdout, "%s: %d staff, %s days due; late %d (%d min), early %d (%d min), missing punches %d, absent %s days, off post %d, leave %s days, exempt %d\n",
		month, t.Staff, half(t.SegmentsDue), t.Late, t.LateMinutes, t.Early, t.EarlyMinutes, t.MissingPunches, half(t.AbsentSegments), t.OffPost, half(t.LeaveTotal()), t.Exempt)
	reads, err := s.ClockReads(ctx)
	if err != nil {
		return err
	}
	end := m.Last().Time().AddDate(0, 0, 1)
	var stale []string
	for _, c := range cfg.Clocks {
		if reads[c.Name].Before(end) {
			stale = append(stale, c.Name)
		}
	}
	if len(stale) == 0 {
		stale = []string{"none"}
	}
	fmt.Fprintf(e.stdout, "%s: %d provisional results; clocks not read since the month ended: %s\n", month, provisional, strings.Join(stale, ", "))
	return nil
}

func runMonthCorrect(ctx context.Context, e *env, args []string) int {
	f := e.flags("month correct", "month correct [--config FILE] --staff ID --date YYYY-MM-DD --segment am|pm\n"+
		"    --findings 'LATE;MISSING_IN' [--late-minutes N] [--early-minutes N] [--off-post N] [--leave-type TYPE]\n"+
		"    --reason TEXT --actor NAME\n\n"+
		"Replaces the findings of one segment of a closed month, with the reason on record and the old and\n"+
		"new values in the audit log. An open month is corrected through its inputs (import leave, failures,\n"+
		"signins) instead. --findings '' makes the segment normal.")
	staff := f.String("staff", "", "staff id")
	day := f.String("date", "", "the day, YYYY-MM-DD")
	seg := f.String("segment", "", "am or pm")
	findings := f.String("findings", "", "R18 codes separated by ; (LATE, EARLY, MISSING_IN, MISSING_OUT, ABSENT, OFF_POST, LEAVE, LEAVE_UNRECOGNISED, EXEMPT)")
	late := f.Int("late-minutes", 0, "minutes late, with LATE")
	early := f.Int("early-minutes", 0, "minutes early, with EARLY")
	offPost := f.Int("off-post", 0, "OFF_POST episodes, with OFF_POST (default 1 when OFF_POST is given)")
	leaveType := f.String("leave-type", "", "leave type, with LEAVE")
	reason := f.String("reason", "", "why: kept with the correction")
	actor := f.String("actor", "", "who corrects")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	var bad []string
	if len(pos) > 0 {
		bad = append(bad, fmt.Sprintf("unexpected argument %q", pos[0]))
	}
	for _, req := range []struct{ name, v string }{{"staff", *staff}, {"date", *day}, {"segment", *seg}, {"reason", *reason}, {"actor", *actor}} {
		if strings.TrimSpace(req.v) == "" {
			bad = append(bad, "--"+req.name+" is required")
		}
	}
	if *seg != "" && *seg != "am" && *seg != "pm" {
		bad = append(bad, fmt.Sprintf("--segment %q: want am or pm", *seg))
	}
	if *day != "" {
		if _, err := attendance.ParseDate(*day); err != nil {
			bad = append(bad, "--date: "+err.Error())
		}
	}
	var set attendance.Findings
	for _, c := range strings.FieldsFunc(*findings, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		fd, ok := attendance.ParseFinding(strings.ToUpper(c))
		if !ok {
			bad = append(bad, fmt.Sprintf("--findings: unknown code %q", c))
		}
		set |= fd
	}
	if *offPost == 0 && set.Has(attendance.OffPost) {
		*offPost = 1
	}
	switch {
	case *late < 0 || *early < 0 || *offPost < 0:
		bad = append(bad, "minutes and counts cannot be negative")
	case *late > 0 && !set.Has(attendance.Late):
		bad = append(bad, "--late-minutes needs LATE in --findings")
	case *early > 0 && !set.Has(attendance.Early):
		bad = append(bad, "--early-minutes needs EARLY in --findings")
	case *offPost > 0 && !set.Has(attendance.OffPost):
		bad = append(bad, "--off-post needs OFF_POST in --findings")
	}
	if set.Has(attendance.OnLeave) {
		if _, ok := leave.ParseType(*leaveType); !ok {
			bad = append(bad, fmt.Sprintf("--leave-type %q: LEAVE needs a leave type of rules.md", *leaveType))
		}
	} else if *leaveType != "" {
		bad = append(bad, "--leave-type needs LEAVE in --findings")
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(e.stderr, "kaoqin month correct: "+b)
		}
		return exitUsage
	}
	_, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	d, _ := attendance.ParseDate(*day)
	old, err := s.Results(ctx, d.Time(), d.Time(), *staff)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin month correct: %v\n", err)
		return exitFail
	}
	c := store.Correction{StaffID: *staff, Day: *day, Segment: *seg, Reason: *reason, Actor: *actor,
		Values: store.Values{Findings: set.String(), LateMinutes: *late, EarlyMinutes: *early, OffPost: *offPost, LeaveType: *leaveType}}
	id, err := s.Correct(ctx, c)
	switch {
	case errors.Is(err, store.ErrMonthOpen):
		fmt.Fprintf(e.stderr, "kaoqin month correct: %s is not closed: its results follow their inputs; add a slip, failure report or manual sign-in instead\n", (*day)[:7])
		return exitUsage
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(e.stderr, "kaoqin month correct: %s has no result on %s %s (not a working segment, or an unknown staff id)\n", *staff, *day, *seg)
		return exitUsage
	case errors.Is(err, store.ErrBadInput):
		fmt.Fprintf(e.stderr, "kaoqin month correct: %v\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(e.stderr, "kaoqin month correct: %v\n", err)
		return exitFail
	}
	was := "?"
	for _, r := range old {
		if r.Segment == *seg {
			was = fmt.Sprintf("%q", r.Findings)
		}
	}
	fmt.Fprintf(e.stdout, "correction #%d: %s %s %s %s → %q by %s\n", id, *staff, *day, *seg, was, c.Findings, *actor)
	return exitOK
}

func runRecompute(ctx context.Context, e *env, args []string) int {
	f := e.flags("recompute", "recompute [--config FILE] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--staff ID]\n\n"+
		"Recomputes the results of the days from..to (default: this month up to today) from every stored\n"+
		"input, for one staff member or everyone. Closed months are skipped: only corrections change them.")
	fromS := f.String("from", "", "first day (default: the first of this month)")
	toS := f.String("to", "", "last day (default: today)")
	staff := f.String("staff", "", "one staff id (default: everyone)")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "kaoqin recompute: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	s, w, cfg, code, ok := e.worker(ctx, f)
	if !ok {
		return code
	}
	defer s.Close()
	today := attendance.DateOf(store.Wall(time.Now(), cfg.Location()))
	from, to := today-attendance.Date(today.MonthDay().Day-1), today
	var bad []string
	if *fromS != "" {
		d, err := attendance.ParseDate(*fromS)
		if err != nil {
			bad = append(bad, "--from: "+err.Error())
		}
		from = d
	}
	if *toS != "" {
		d, err := attendance.ParseDate(*toS)
		if err != nil {
			bad = append(bad, "--to: "+err.Error())
		}
		to = d
	}
	if len(bad) == 0 && to < from {
		bad = append(bad, fmt.Sprintf("--to %s is before --from %s", to, from))
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(e.stderr, "kaoqin recompute: "+b)
		}
		return exitUsage
	}
	n, written, skipped, err := recomputeAll(ctx, s, w, *staff, from, to)
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(e.stderr, "kaoqin recompute: %v\n", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin recompute: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "recomputed %s..%s for %d staff: %d staff-days written", from, to, n, written)
	if skipped > 0 {
		fmt.Fprintf(e.stdout, ", %d days skipped in closed months", skipped)
	}
	fmt.Fprintln(e.stdout)
	return exitOK
}
