package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
)

// rulesFromConfig builds the engine's rules from a validated config: the schedule and season
// boundaries, the calendar (the bundled official one unless switched off, then the overrides) and
// the configurable decisions.
func rulesFromConfig(cfg *config.Config) (attendance.Rules, error) {
	r := attendance.DefaultRules()
	s := cfg.Schedule
	var err error
	conv := func(seg config.Segment) attendance.Hours {
		var h attendance.Hours
		if err != nil {
			return h
		}
		var a, b int
		if a, err = config.Minutes(seg.Start); err != nil {
			return h
		}
		if b, err = config.Minutes(seg.End); err != nil {
			return h
		}
		h.Start, h.End = attendance.Minute(a), attendance.Minute(b)
		if a, b, err = config.Range(seg.SignIn); err != nil {
			return h
		}
		h.In = attendance.Window{From: attendance.Minute(a), To: attendance.Minute(b)}
		if a, b, err = config.Range(seg.SignOut); err != nil {
			return h
		}
		h.Out = attendance.Window{From: attendance.Minute(a), To: attendance.Minute(b)}
		return h
	}
	r.Schedule.Summer = attendance.Season{AM: conv(s.Summer.AM), PM: conv(s.Summer.PM)}
	r.Schedule.Winter = attendance.Season{AM: conv(s.Winter.AM), PM: conv(s.Winter.PM)}
	if err != nil {
		return r, fmt.Errorf("%s: schedule: %v", cfg.File, err)
	}
	span := func(from, to string) (attendance.SeasonSpan, error) {
		f, err := attendance.ParseMonthDay(from)
		if err != nil {
			return attendance.SeasonSpan{}, err
		}
		t, err := attendance.ParseMonthDay(to)
		return attendance.SeasonSpan{SummerFrom: f, SummerTo: t}, err
	}
	if r.Schedule.Span, err = span(s.SummerFrom, s.SummerTo); err != nil {
		return r, fmt.Errorf("%s: schedule: %v", cfg.File, err)
	}
	for y, b := range s.Years {
		sp, err := span(b.SummerFrom, b.SummerTo)
		if err != nil {
			return r, fmt.Errorf("%s: schedule.years.%d: %v", cfg.File, y, err)
		}
		if r.Schedule.Years == nil {
			r.Schedule.Years = map[int]attendance.SeasonSpan{}
		}
		r.Schedule.Years[y] = sp
	}
	if !cfg.Calendar.Official {
		r.Calendar = attendance.WeekdayCalendar()
	}
	if len(cfg.Calendar.Overrides) > 0 {
		ov, notes := map[attendance.Date]bool{}, map[attendance.Date]string{}
		for _, o := range cfg.Calendar.Overrides {
			d, err := attendance.ParseDate(o.Date)
			if err != nil {
				return r, fmt.Errorf("%s: calendar.overrides: %v", cfg.File, err)
			}
			ov[d] = o.Working
			if o.Note != "" {
				notes[d] = o.Note
			}
		}
		r.Calendar = r.Calendar.WithOverrides(ov).WithNotes(notes)
	}
	if d := cfg.Rules.FailureReportDeadline; d != "same_day" && d != "" {
		if r.FailureReportAfter, err = time.ParseDuration(d); err != nil {
			return r, fmt.Errorf("%s: rules.failure_report_deadline: %v", cfg.File, err)
		}
	}
	r.SingleStaffTemporaryMinutes = cfg.Rules.SingleStaffTemporaryMinutes
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("%s: %v", cfg.File, err)
	}
	return r, nil
}

// runClassifyCmd resolves --config into rules, then runs the classify contract.
func runClassifyCmd(ctx context.Context, e *env, args []string) int {
	path := ""
	for i, a := range args {
		switch {
		case a == "--config" || a == "-config":
			if i+1 < len(args) {
				path = args[i+1]
			}
		case strings.HasPrefix(a, "--config="), strings.HasPrefix(a, "-config="):
			path = a[strings.IndexByte(a, '=')+1:]
		}
	}
	rules := attendance.DefaultRules()
	if path != "" {
		cfg, err := config.Load(path)
		if err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
		if rules, err = rulesFromConfig(cfg); err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
	}
	return runClassify(ctx, rules, args, e.stdout, e.stderr)
}
