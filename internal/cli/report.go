package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/leave"
	"github.com/kaoqin/kaoqin/reports"
)

// reportFiles are the classify inputs a report is made from when it is not read from the database.
type reportFiles struct {
	staff, punches, leave, patrol, failures, manual *string
}

func (f *flags) reportFiles() reportFiles {
	return reportFiles{
		staff:    f.String("staff", "", "staff roster `CSV`: staff_id,name,window,unit[,clock_user_ids]"),
		punches:  f.String("punches", "", "punches `CSV`: staff_id,time[,device]"),
		leave:    f.String("leave", "", "leave slips `CSV`: staff_id,type,start,end,filed_at,approvals"),
		patrol:   f.String("patrol", "", "patrol records `CSV`: staff_id,from,to,observation"),
		failures: f.String("failures", "", "clock-failure reports `CSV`: staff_id (or *),from,to,reported_at[,clock]"),
		manual:   f.String("manual", "", "manual sign-ins `CSV`: staff_id,time,reason,recorded_by"),
	}
}

// reportRules are the rules of --config, or the built-in defaults without it (as classify).
func (f *flags) reportRules() (attendance.Rules, bool) {
	if *f.config == "" {
		return attendance.DefaultRules(), true
	}
	cfg, err := config.Load(*f.config)
	if err == nil {
		var rules attendance.Rules
		if rules, err = rulesFromConfig(cfg); err == nil {
			return rules, true
		}
	}
	fmt.Fprintln(f.e.stderr, err)
	return attendance.Rules{}, false
}

// results classifies from..to from the files, exactly as `kaoqin classify` does, and returns
// the staff and the results in the reports' model; with asOf set, what had not happened by then
// (punches after it, slips and failure reports filed after it, patrols begun after it) is left out. Every problem of the files is returned, and no
// result then. provisional decides R19 for each result.
func (rf reportFiles) results(ctx context.Context, rules *attendance.Rules, from, to attendance.Date,
	asOf time.Time, provisional func(s *csvio.Staff, r *attendance.Result) bool) ([]reports.Staff, []reports.Result, csvio.Problems, error) {
	in, ps := readClassifyInputs(*rf.staff, *rf.punches, *rf.leave, *rf.patrol, *rf.failures, *rf.manual)
	if len(ps) > 0 {
		return nil, nil, ps, nil
	}
	if !asOf.IsZero() {
		// The status as of a time: punches after it have not happened yet.
		cut := asOf.Unix()
		for si := range in.punches {
			in.punches[si] = slices.DeleteFunc(in.punches[si], func(p cpunch) bool { return p.sec > cut })
			in.manual[si] = slices.DeleteFunc(in.manual[si], func(p attendance.Punch) bool { return p.At.After(asOf) })
			in.slips[si] = slices.DeleteFunc(in.slips[si], func(s leave.Slip) bool { return s.FiledAt.After(asOf) })
			in.patrols[si] = slices.DeleteFunc(in.patrols[si], func(p leave.Patrol) bool { return p.From.After(asOf) })
			in.failures[si] = slices.DeleteFunc(in.failures[si], func(f leave.FailureReport) bool { return f.ReportedAt.After(asOf) })
		}
		in.allFailures = slices.DeleteFunc(in.allFailures, func(f leave.FailureReport) bool { return f.ReportedAt.After(asOf) })
	}
	slips := map[string]*leave.Slip{}
	for _, ss := range in.slips {
		for i := range ss {
			slips[ss[i].Ref] = &ss[i]
		}
	}
	staff := make([]reports.Staff, len(in.staff))
	for i, s := range in.staff {
		staff[i] = reports.Staff{ID: s.ID, Name: s.Name, Window: s.Window, Unit: s.Unit, Active: true}
		for _, c := range s.Clocks {
			staff[i].Clocks = append(staff[i].Clocks, c.Clock)
		}
	}
	out := make([]reports.Result, 0, len(in.staff)*rules.Period(from, to).Segments())
	err := in.classify(ctx, rules.Period(from, to), func(si int, results []attendance.Result) {
		for i := range results {
			r := &results[i]
			rr := reports.FromAttendance(r, provisional != nil && provisional(&in.staff[si], r))
			for k := range rr.Evidence.Slips {
				s := &rr.Evidence.Slips[k]
				if raw := slips[s.Ref]; raw != nil {
					s.FiledAt = raw.FiledAt
					if a := raw.Approvals.String(); a != "" {
						s.Approvals = strings.Split(a, ";")
					}
				}
			}
			out = append(out, rr)
		}
	})
	return staff, out, nil, err
}

// openOut opens --out ("" or "-": standard output).
func (e *env) openOut(path string) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return e.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

func printProblems(w io.Writer, ps csvio.Problems) {
	for _, p := range ps {
		fmt.Fprintln(w, p.Error())
	}
}

const monthUsage = `report month --month 2026-07 [--format xlsx|csv|sheet|html|json|zip] [--out FILE] [--detail-out FILE]
    [--unit UNIT] [--window WINDOW]
    --staff staff.csv --punches punches.csv [--leave leave.csv] [--patrol patrol.csv]
    [--failures failures.csv] [--manual manual.csv] [--config kaoqin.yaml]

The monthly discipline report (rules.md R20), from the database (the stored results, the
month's closing and corrections; needs --config) or, with --staff and --punches, from the
classify input files: a row per staff
member, the same per window and per unit, the 考勤表 (a symbol per half-day), and every finding
with its evidence. xlsx has a sheet per view and the charts, each printable on A4 landscape; csv
is the per-staff view (--detail-out writes the detail as a second CSV); sheet is the 考勤表 as
CSV; html is one printable page; zip is one xlsx per window unit. --unit and --window narrow the
report to one unit's or one window's staff. center.name of --config heads the titles. Results from files are final (the files are taken as a complete export).
Exit 0 ok, 1 failed, 2 bad usage or bad input (FILE:LINE: problem).`

func runReportMonth(ctx context.Context, e *env, args []string) int {
	f := e.flags("report month", monthUsage)
	monthS := f.String("month", "", "the `YYYY-MM` to report")
	format := f.String("format", "xlsx", "xlsx, csv, sheet, html, json or zip")
	unit := f.String("unit", "", "only the staff of this window `UNIT`")
	window := f.String("window", "", "only the staff of this `WINDOW`")
	outPath := f.String("out", "", "output `FILE` (default standard output)")
	detailPath := f.String("detail-out", "", "with --format csv: also write the detail view to this `FILE`")
	rf := f.reportFiles()
	if code, ok := f.parse(args); !ok {
		return code
	}
	var usage []string
	if f.NArg() > 0 {
		usage = append(usage, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
	}
	month, err := reports.ParseMonth(*monthS)
	if err != nil {
		usage = append(usage, "--month: "+err.Error())
	}
	switch *format {
	case "xlsx", "csv", "sheet", "html", "json", "zip":
	default:
		usage = append(usage, fmt.Sprintf("--format %q: want xlsx, csv, sheet, html, json or zip", *format))
	}
	if *detailPath != "" && *format != "csv" {
		usage = append(usage, "--detail-out goes with --format csv only (the other formats hold the detail)")
	}
	fromDB := *rf.staff == "" && *rf.punches == "" && *rf.leave == "" && *rf.patrol == "" && *rf.failures == "" && *rf.manual == ""
	if !fromDB && (*rf.staff == "" || *rf.punches == "") {
		usage = append(usage, "--staff and --punches go together (without any input file, the report is read from the database)")
	}
	if len(usage) > 0 {
		for _, u := range usage {
			fmt.Fprintln(e.stderr, "kaoqin report month: "+u)
		}
		f.Usage()
		return exitUsage
	}
	rules, ok := f.reportRules()
	if !ok {
		return exitUsage
	}
	if err := rules.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin report month: config: %v\n", err)
		return exitUsage
	}
	var in *reports.MonthInput
	if fromDB {
		cfg, code, ok := f.loadConfig()
		if !ok {
			return code
		}
		if rules, err = rulesFromConfig(cfg); err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
		s, code, ok := e.openStore(ctx, cfg, false)
		if !ok {
			return code
		}
		defer s.Close()
		if in, err = monthFromStore(ctx, s, &rules, month); err != nil {
			fmt.Fprintf(e.stderr, "kaoqin report month: %v\n", err)
			return exitFail
		}
		in.Generated = store.Wall(time.Now(), cfg.Location())
		in.Center = cfg.Center.Name
	} else {
		staff, results, ps, err := rf.results(ctx, &rules, month.First(), month.Last(), time.Time{}, nil)
		if len(ps) > 0 {
			printProblems(e.stderr, ps)
			return exitUsage
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin report month: %v\n", err)
			return exitFail
		}
		in = &reports.MonthInput{Month: month, Staff: staff, Results: results, Calendar: rules.Calendar}
		if *f.config != "" {
			if cfg, err := config.Load(*f.config); err == nil {
				in.Center = cfg.Center.Name
			}
		}
	}
	in = in.Only(*unit, *window)
	if len(in.Staff) == 0 && (*unit != "" || *window != "") {
		fmt.Fprintf(e.stderr, "kaoqin report month: no staff in unit %q window %q\n", *unit, *window)
		return exitUsage
	}
	rep := reports.BuildMonth(in)
	return e.writeReport(*outPath, "report month", func(w io.Writer) error {
		switch *format {
		case "xlsx":
			return rep.WriteXLSX(w)
		case "html":
			return rep.WriteHTML(w)
		case "json":
			return rep.WriteJSON(w)
		case "sheet":
			return rep.WriteSheetCSV(w)
		case "zip":
			return reports.WriteUnitsZIP(w, in)
		}
		if err := rep.WriteCSV(w); err != nil {
			return err
		}
		if *detailPath == "" {
			return nil
		}
		return e.writeFile(*detailPath, rep.WriteDetailCSV)
	})
}

func (e *env) writeFile(path string, write func(io.Writer) error) error {
	w, done, err := e.openOut(path)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		done()
		return err
	}
	return done()
}

func (e *env) writeReport(path, cmd string, write func(io.Writer) error) int {
	if err := e.writeFile(path, write); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin %s: %v\n", cmd, err)
		return exitFail
	}
	return exitOK
}

const dayUsage = `report day --date 2026-07-15 [--at "2026-07-15 10:40"] [--clocks clocks.csv]
    [--format text|csv|html|json] [--out FILE]
    --staff staff.csv --punches punches.csv [--leave …] [--patrol …] [--failures …] [--manual …] [--config FILE]

The status of every window on one day from the classify input files: each staff member's
segments so far (signed in, late, not yet signed in, missing, on leave, absent, off post), what
is provisional, and the clocks not read since the latest punch window opened. --at (default: the
end of the day) is the time the status is as of; --clocks (columns clock,last_read) says when
each clock was last read: a segment is provisional until every clock its staff member uses was
read after its sign-out window (R19). Without any input file the status is read from the database
(the stored results and clock reads; --config names it).`

func runReportDay(ctx context.Context, e *env, args []string) int {
	f := e.flags("report day", dayUsage)
	dateS := f.String("date", "", "the `YYYY-MM-DD` to report")
	atS := f.String("at", "", "the status is as of this `time` (YYYY-MM-DD HH:MM[:SS], wall clock; default the end of the day)")
	clocksPath := f.String("clocks", "", "clock reads `CSV`: clock,last_read")
	format := f.String("format", "text", "text, csv, html or json")
	outPath := f.String("out", "", "output `FILE` (default standard output)")
	rf := f.reportFiles()
	if code, ok := f.parse(args); !ok {
		return code
	}
	var usage []string
	if f.NArg() > 0 {
		usage = append(usage, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
	}
	date, err := attendance.ParseDate(*dateS)
	if err != nil {
		usage = append(usage, "--date: "+err.Error())
	}
	at := (date + 1).Time().Add(-time.Second)
	if *atS != "" {
		s := *atS
		if len(s) == len("2006-01-02 15:04") {
			s += ":00"
		}
		if at, err = csvio.ParseTime(s); err != nil {
			usage = append(usage, fmt.Sprintf("--at %q: want YYYY-MM-DD HH:MM[:SS]", *atS))
		}
	}
	switch *format {
	case "text", "csv", "html", "json":
	default:
		usage = append(usage, fmt.Sprintf("--format %q: want text, csv, html or json", *format))
	}
	fromDB := *rf.staff == "" && *rf.punches == "" && *rf.leave == "" && *rf.patrol == "" && *rf.failures == "" && *rf.manual == ""
	if !fromDB && (*rf.staff == "" || *rf.punches == "") {
		usage = append(usage, "--staff and --punches go together (without any input file, the status is read from the database)")
	}
	if fromDB && *clocksPath != "" {
		usage = append(usage, "--clocks goes with the input files (from the database, the clocks' reads are stored)")
	}
	if len(usage) > 0 {
		for _, u := range usage {
			fmt.Fprintln(e.stderr, "kaoqin report day: "+u)
		}
		f.Usage()
		return exitUsage
	}
	rules, ok := f.reportRules()
	if !ok {
		return exitUsage
	}
	if err := rules.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "kaoqin report day: config: %v\n", err)
		return exitUsage
	}
	if fromDB {
		return e.reportDayFromStore(ctx, f, date, at, *atS == "", *format, *outPath)
	}
	var clocks []reports.Clock
	var ps csvio.Problems
	if *clocksPath != "" {
		clocks, ps = readClocks(*clocksPath)
	}
	reads := map[string]time.Time{}
	for _, c := range clocks {
		reads[c.Name] = c.LastRead
	}
	season := rules.Schedule.SeasonOn(date)
	provisional := func(s *csvio.Staff, r *attendance.Result) bool {
		end := r.Date.At(season.Hours(r.Segment).Out.To).Add(time.Minute)
		if at.Before(end) {
			return true
		}
		if *clocksPath == "" {
			return false // no read log: the files are taken as complete
		}
		var names []string
		for _, c := range s.Clocks {
			names = append(names, c.Clock)
		}
		if len(names) == 0 {
			for n := range reads {
				names = append(names, n)
			}
		}
		for _, n := range names {
			if t, ok := reads[n]; !ok || t.Before(end) {
				return true
			}
		}
		return false
	}
	staff, results, ps2, err := rf.results(ctx, &rules, date, date, at, provisional)
	ps = append(ps, ps2...)
	if len(ps) > 0 {
		ps.Sort()
		printProblems(e.stderr, ps)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin report day: %v\n", err)
		return exitFail
	}
	rep := reports.BuildDay(&reports.DayInput{Date: date, At: at, Working: rules.Working(date),
		Hours: [2]attendance.Hours{season.AM, season.PM}, Staff: staff, Results: results, Clocks: clocks})
	return e.writeReport(*outPath, "report day", func(w io.Writer) error {
		switch *format {
		case "csv":
			return rep.WriteCSV(w)
		case "html":
			return rep.WriteHTML(w)
		case "json":
			return rep.WriteJSON(w)
		}
		return rep.WriteText(w)
	})
}

// reportDayFromStore writes the daily status from the database (package dbreport, shared with the
// web): the stored results, the configured clocks and their stored reads. Without --at, a date of
// today is as of now.
func (e *env) reportDayFromStore(ctx context.Context, f *flags, date attendance.Date, at time.Time, atDefault bool, format, outPath string) int {
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	rules, err := rulesFromConfig(cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	s, code, ok := e.openStore(ctx, cfg, false)
	if !ok {
		return code
	}
	defer s.Close()
	if now := store.Wall(time.Now(), cfg.Location()); atDefault && now.Before(at) {
		at = now
	}
	clocks := make([]string, 0, len(cfg.Clocks))
	for _, c := range cfg.Clocks {
		clocks = append(clocks, c.Name)
	}
	in, err := dbreport.Day(ctx, s, &rules, date, at, clocks, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin report day: %v\n", err)
		return exitFail
	}
	rep := reports.BuildDay(in)
	return e.writeReport(outPath, "report day", func(w io.Writer) error {
		switch format {
		case "csv":
			return rep.WriteCSV(w)
		case "html":
			return rep.WriteHTML(w)
		case "json":
			return rep.WriteJSON(w)
		}
		return rep.WriteText(w)
	})
}

// readClocks reads a clock-read CSV: clock,last_read (empty: never read).
func readClocks(path string) ([]reports.Clock, csvio.Problems) {
	t, err := csvio.ReadFile(path, "clock", "last_read")
	if err != nil {
		return nil, csvio.AsProblems(err)
	}
	var out []reports.Clock
	var ps csvio.Problems
	for _, row := range t.Rows {
		c := reports.Clock{Name: row.Get("clock")}
		if c.Name == "" {
			ps = append(ps, t.Problem(row.Line, "clock is empty"))
			continue
		}
		if s := row.Get("last_read"); s != "" {
			if c.LastRead, err = csvio.ParseTime(s); err != nil {
				ps = append(ps, t.Problem(row.Line, "last_read %q: want YYYY-MM-DD HH:MM:SS", s))
				continue
			}
		}
		out = append(out, c)
	}
	return out, ps
}
