package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/leave"
)

const classifyUsage = `usage: kaoqin classify --staff staff.csv --punches punches.csv
    [--leave leave.csv] [--patrol patrol.csv] [--failures failures.csv] [--manual manual.csv]
    [--config kaoqin.yaml] --from 2026-07-01 --to 2026-07-31 [--format json|csv]

Classifies every working segment of every staff member from exported files, without a database
(shared/spec/classify.md). Exit 0 on success, 2 on bad usage or bad input, 1 on failure.
`

// runClassify is `kaoqin classify` (shared/spec/classify.md). rules are already resolved: the
// dispatcher loads --config (or takes attendance.DefaultRules) before calling, so the --config
// flag is accepted here only so that the contract's command line parses, and its value ignored.
func runClassify(ctx context.Context, rules attendance.Rules, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	staffPath := fs.String("staff", "", "staff roster CSV: staff_id,name,window,unit[,clock_user_ids]")
	punchPath := fs.String("punches", "", "punches CSV: staff_id,time[,device]")
	leavePath := fs.String("leave", "", "leave slips CSV: staff_id,type,start,end,filed_at,approvals")
	patrolPath := fs.String("patrol", "", "patrol records CSV: staff_id,from,to,observation")
	failPath := fs.String("failures", "", "clock-failure reports CSV: staff_id (or *),from,to,reported_at[,clock]")
	manualPath := fs.String("manual", "", "manual sign-ins CSV: staff_id,time,reason,recorded_by")
	fs.String("config", "", "config file (resolved by the caller)")
	fromS := fs.String("from", "", "first date, YYYY-MM-DD, inclusive")
	toS := fs.String("to", "", "last date, YYYY-MM-DD, inclusive")
	format := fs.String("format", "json", "output format: json or csv")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, classifyUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprint(stderr, classifyUsage)
		return 2
	}
	var usage []string
	if fs.NArg() > 0 {
		usage = append(usage, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	for _, f := range []struct{ name, v string }{{"staff", *staffPath}, {"punches", *punchPath}, {"from", *fromS}, {"to", *toS}} {
		if f.v == "" {
			usage = append(usage, "--"+f.name+" is required")
		}
	}
	if *format != "json" && *format != "csv" {
		usage = append(usage, fmt.Sprintf("--format %q: want json or csv", *format))
	}
	if len(usage) > 0 {
		for _, u := range usage {
			fmt.Fprintln(stderr, "kaoqin classify: "+u)
		}
		fmt.Fprint(stderr, classifyUsage)
		return 2
	}
	if err := rules.Validate(); err != nil {
		fmt.Fprintf(stderr, "kaoqin classify: config: %v\n", err)
		return 2
	}

	// Every problem is collected before any output, so a run either prints a whole result or
	// none at all (the contract: "and no result").
	var flagProblems []string
	from, errF := attendance.ParseDate(*fromS)
	if errF != nil {
		flagProblems = append(flagProblems, "--from: "+errF.Error())
	}
	to, errT := attendance.ParseDate(*toS)
	if errT != nil {
		flagProblems = append(flagProblems, "--to: "+errT.Error())
	}
	if errF == nil && errT == nil && to < from {
		flagProblems = append(flagProblems, fmt.Sprintf("--to %s is before --from %s", *toS, *fromS))
	}
	in, ps := readClassifyInputs(*staffPath, *punchPath, *leavePath, *patrolPath, *failPath, *manualPath)
	if len(flagProblems) > 0 || len(ps) > 0 {
		for _, p := range flagProblems {
			fmt.Fprintln(stderr, p)
		}
		for _, p := range ps {
			fmt.Fprintln(stderr, p.Error())
		}
		return 2
	}
	for y := from.Year(); y <= to.Year(); y++ {
		if rules.Calendar != nil && !rules.Calendar.Covers(y) {
			fmt.Fprintf(stderr, "warning: the official holiday calendar has no data for %d: its public holidays count as working days unless the config overrides them\n", y)
		}
	}

	w := bufio.NewWriterSize(stdout, 1<<16)
	out := newResultWriter(w, *format)
	err := in.classify(ctx, rules.Period(from, to), func(_ int, results []attendance.Result) {
		for i := range results {
			out.write(&results[i])
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "kaoqin classify: %v\n", err)
		return 1
	}
	out.end()
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "kaoqin classify: writing the result: %v\n", err)
		return 1
	}
	return 0
}

// classify runs the engine over period for every staff member, in staff id order, and hands fn
// the staff index and the results, which are valid only during the call (their buffers are
// reused). It is the one path from files to results: classify and report share it.
func (in *classifyInputs) classify(ctx context.Context, period *attendance.Period, fn func(si int, results []attendance.Result)) error {
	var results []attendance.Result
	var punches []attendance.Punch
	for _, si := range in.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := &in.staff[si]
		st := attendance.Staff{ID: s.ID, Window: s.Window, WindowStaff: in.windowStaff[s.Window]}
		punches = in.punchesOf(si, punches[:0])
		rec := leave.Records{Punches: punches, Slips: in.slips[si], Patrols: in.patrols[si]}
		for _, c := range s.Clocks {
			rec.Clocks = append(rec.Clocks, c.Clock)
		}
		rec.Failures = in.failures[si]
		for _, f := range in.allFailures {
			if f.AppliesTo(s.ID, rec.Clocks) {
				rec.Failures = append(rec.Failures, f)
			}
		}
		results = leave.Classify(period, st, rec, results[:0])
		// The roster's start and end dates bound the results, as in the database (a newcomer is
		// not ABSENT before joining).
		if s.StartDate != "" || s.EndDate != "" {
			results = slices.DeleteFunc(results, func(r attendance.Result) bool {
				d := r.Date.String()
				return s.StartDate != "" && d < s.StartDate || s.EndDate != "" && d > s.EndDate
			})
		}
		fn(si, results)
	}
	return nil
}

// cpunch is a punch as kept between reading and classifying: 16 bytes instead of a full
// attendance.Punch, because a month of a large center is millions of them.
type cpunch struct {
	sec int64 // wall clock, seconds since 1970-01-01
	dev int32 // index into classifyInputs.devices
}

type classifyInputs struct {
	staff       []csvio.Staff
	order       []int // staff indexes by staff id
	windowStaff map[string]int
	punches     [][]cpunch // by staff index
	devices     []string
	manual      [][]attendance.Punch
	slips       [][]leave.Slip
	patrols     [][]leave.Patrol
	failures    [][]leave.FailureReport // reports naming one staff member
	allFailures []leave.FailureReport   // reports for everyone ("*")
}

// punchesOf returns the punches of staff si, sorted, appended to dst.
func (in *classifyInputs) punchesOf(si int, dst []attendance.Punch) []attendance.Punch {
	cs := in.punches[si]
	slices.SortStableFunc(cs, func(a, b cpunch) int { return cmpInt64(a.sec, b.sec) })
	for _, c := range cs {
		dst = append(dst, attendance.Punch{At: time.Unix(c.sec, 0).UTC(), Device: in.devices[c.dev]})
	}
	if len(in.manual[si]) > 0 {
		dst = append(dst, in.manual[si]...)
		slices.SortStableFunc(dst, func(a, b attendance.Punch) int { return a.At.Compare(b.At) })
	}
	return dst
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readClassifyInputs reads and checks every input file, collecting every problem.
func readClassifyInputs(staffPath, punchPath, leavePath, patrolPath, failPath, manualPath string) (*classifyInputs, csvio.Problems) {
	in := &classifyInputs{windowStaff: map[string]int{}}
	var ps csvio.Problems
	index := map[string]int{}
	// Ids on the roster, including rows with problems of their own, so that one bad roster line
	// does not also make every punch of that person a problem. When the roster cannot be read at
	// all, every id is accepted: the other files' own problems are still worth reporting.
	known := map[string]bool{}
	rosterRead := false
	t, err := csvio.ReadFile(staffPath, csvio.StaffColumns...)
	if err != nil {
		ps = append(ps, csvio.AsProblems(err)...)
	}
	if t != nil {
		rosterRead = err == nil
		for _, row := range t.Rows {
			known[row.Get("staff_id")] = true
		}
		staff, sps := csvio.ParseStaff(t)
		ps = append(ps, sps...)
		in.staff = staff
	}
	for i, s := range in.staff {
		index[s.ID] = i
		in.order = append(in.order, i)
		in.windowStaff[s.Window]++
	}
	slices.SortFunc(in.order, func(a, b int) int { return strings.Compare(in.staff[a].ID, in.staff[b].ID) })
	isKnown := func(id string) bool { return id != "" && (!rosterRead || known[id]) }
	n := len(in.staff)
	in.punches = make([][]cpunch, n)
	in.manual = make([][]attendance.Punch, n)
	in.slips = make([][]leave.Slip, n)
	in.patrols = make([][]leave.Patrol, n)
	in.failures = make([][]leave.FailureReport, n)

	devIndex := map[string]int32{}
	f, err := os.Open(punchPath)
	if err != nil {
		ps = append(ps, csvio.Problem{File: punchPath, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))})
	} else {
		ps = append(ps, csvio.StreamPunches(punchPath, f, isKnown, func(p csvio.PunchRow) {
			si, ok := index[p.StaffID]
			if !ok {
				return // a roster row with problems of its own
			}
			d, ok := devIndex[p.Device]
			if !ok {
				d = int32(len(in.devices))
				devIndex[p.Device] = d
				in.devices = append(in.devices, p.Device)
			}
			in.punches[si] = append(in.punches[si], cpunch{sec: p.Time.Unix(), dev: d})
		})...)
		f.Close()
	}

	read := func(path string, cols []string, parse func(*csvio.Table)) {
		if path == "" {
			return
		}
		t, err := csvio.ReadFile(path, cols...)
		if err != nil {
			ps = append(ps, csvio.AsProblems(err)...)
		}
		if t != nil {
			parse(t)
		}
	}
	read(leavePath, csvio.LeaveColumns, func(t *csvio.Table) {
		slips, lps := csvio.ParseLeave(t, isKnown)
		ps = append(ps, lps...)
		for _, s := range slips {
			if si, ok := index[s.StaffID]; ok {
				in.slips[si] = append(in.slips[si], s)
			}
		}
	})
	read(patrolPath, csvio.PatrolColumns, func(t *csvio.Table) {
		pts, pps := csvio.ParsePatrol(t, isKnown)
		ps = append(ps, pps...)
		for _, p := range pts {
			if si, ok := index[p.StaffID]; ok {
				in.patrols[si] = append(in.patrols[si], p)
			}
		}
	})
	read(failPath, csvio.FailureColumns, func(t *csvio.Table) {
		fs, fps := csvio.ParseFailures(t, isKnown)
		ps = append(ps, fps...)
		for _, f := range fs {
			if f.StaffID == "*" {
				in.allFailures = append(in.allFailures, f)
			} else if si, ok := index[f.StaffID]; ok {
				in.failures[si] = append(in.failures[si], f)
			}
		}
	})
	read(manualPath, csvio.ManualColumns, func(t *csvio.Table) {
		ms, mps := csvio.ParseManual(t, isKnown)
		ps = append(ps, mps...)
		for _, m := range ms {
			if si, ok := index[m.StaffID]; ok {
				in.manual[si] = append(in.manual[si], m.Punch)
			}
		}
	})
	ps.Sort()
	return in, ps
}

// resultWriter writes results in the contract's shapes without encoding/json's reflection: a
// large center's month is hundreds of thousands of objects.
type resultWriter struct {
	w      *bufio.Writer
	csv    *csv.Writer
	buf    []byte
	codes  []string
	n      int
	format string
}

var csvHeader = []string{"staff_id", "date", "segment", "findings", "late_minutes", "early_minutes", "off_post", "leave_type", "sign_in", "sign_out"}

func newResultWriter(w *bufio.Writer, format string) *resultWriter {
	rw := &resultWriter{w: w, format: format}
	if format == "csv" {
		rw.csv = csv.NewWriter(w)
		rw.csv.Write(csvHeader)
	} else {
		w.WriteString("[")
	}
	return rw
}

func (rw *resultWriter) write(r *attendance.Result) {
	rw.codes = r.Findings.Codes(rw.codes[:0])
	if rw.csv != nil {
		rw.csv.Write([]string{r.StaffID, r.Date.String(), r.Segment.String(), strings.Join(rw.codes, ";"),
			strconv.Itoa(r.LateMinutes), strconv.Itoa(r.EarlyMinutes), strconv.Itoa(r.OffPost), r.LeaveType,
			r.SignIn.String(), r.SignOut.String()})
		return
	}
	b := rw.buf[:0]
	if rw.n > 0 {
		b = append(b, ',')
	}
	rw.n++
	b = append(b, "\n{\"staff_id\": "...)
	b = appendJSONString(b, r.StaffID)
	b = append(b, ", \"date\": \""...)
	b = append(b, r.Date.String()...)
	b = append(b, "\", \"segment\": \""...)
	b = append(b, r.Segment.String()...)
	b = append(b, "\", \"findings\": ["...)
	for i, c := range rw.codes {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '"')
		b = append(b, c...)
		b = append(b, '"')
	}
	b = append(b, "], \"late_minutes\": "...)
	b = strconv.AppendInt(b, int64(r.LateMinutes), 10)
	b = append(b, ", \"early_minutes\": "...)
	b = strconv.AppendInt(b, int64(r.EarlyMinutes), 10)
	b = append(b, ", \"off_post\": "...)
	b = strconv.AppendInt(b, int64(r.OffPost), 10)
	b = append(b, ", \"leave_type\": "...)
	b = appendJSONString(b, r.LeaveType)
	b = append(b, ", \"sign_in\": \""...)
	b = r.SignIn.AppendTo(b)
	b = append(b, "\", \"sign_out\": \""...)
	b = r.SignOut.AppendTo(b)
	b = append(b, "\"}"...)
	rw.w.Write(b)
	rw.buf = b
}

func (rw *resultWriter) end() {
	if rw.csv != nil {
		rw.csv.Flush()
		return
	}
	if rw.n > 0 {
		rw.w.WriteString("\n")
	}
	rw.w.WriteString("]\n")
}

// appendJSONString appends s as a JSON string. The inputs are valid UTF-8 (the CSV reader checks),
// so only quotes, backslashes and control characters need escaping.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
