package cli

import (
	"context"
	"fmt"

	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

func runImportStaff(ctx context.Context, e *env, args []string) int {
	f := e.flags("import staff", "import staff [--config FILE] [--actor NAME] [--move-windows] FILE.csv|FILE.xlsx\n\n"+
		"Columns staff_id,name,window,unit (or 工号,姓名,窗口,单位) and optionally clock_user_ids (clock:id;clock:id),\n"+
		"start_date and end_date (YYYY-MM-DD: no result is computed outside them). CSV in UTF-8 (with or\n"+
		"without a byte-order mark) or GBK/GB18030, or the first sheet of an XLSX workbook.\n"+
		"One transaction: any bad row and nothing is written. Staff missing from the file become inactive.\n"+
		"A row that puts an existing window under another unit is refused unless --move-windows is given.")
	actor := f.String("actor", "cli", "who imports, for the audit log")
	moveWindows := f.Bool("move-windows", false, "allow rows to move existing windows to another unit")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		fmt.Fprintln(e.stderr, "kaoqin import staff: give exactly one roster file (CSV or XLSX)")
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	file := f.Arg(0)
	roster, lines, problems := parseRoster(file, func(clock string) bool { _, ok := cfg.Clock(clock); return ok })
	var s *store.Store
	if len(problems) == 0 {
		if s, code, ok = e.openStore(ctx, cfg, false); !ok {
			return code
		}
		defer s.Close()
		units, err := s.WindowUnits(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "kaoqin import staff: %v; nothing was imported\n", err)
			return exitFail
		}
		if !*moveWindows {
			problems = append(problems, windowMoves(file, roster, lines, units)...)
		}
	}
	if len(problems) > 0 {
		problems.Sort()
		fmt.Fprintln(e.stderr, problems.Error())
		fmt.Fprintf(e.stderr, "kaoqin import staff: %d problems; nothing was imported\n", len(problems))
		return exitUsage
	}
	res, err := s.ImportStaff(ctx, roster, *actor)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin import staff: %v; nothing was imported\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s: %d added, %d updated, %d unchanged, %d made inactive\n", file, res.Added, res.Updated, res.Unchanged, res.Deactivated)
	return exitOK
}

// windowMoves finds the rows that would put an existing window under another unit (units: the
// stored unit of each window).
func windowMoves(file string, roster []store.RosterEntry, lines []int, units map[string]string) csvio.Problems {
	var ps csvio.Problems
	for i, e := range roster {
		if u, ok := units[e.Window]; ok && u != e.Unit {
			ps = append(ps, csvio.Problem{File: file, Line: lines[i], Msg: fmt.Sprintf(
				"window %q belongs to unit %q; this row would move it to unit %q (give --move-windows if it moves)", e.Window, u, e.Unit)})
		}
	}
	return ps
}

// parseRoster reads a roster file (CSV or XLSX, see csvio.ReadRoster), checking every row;
// knownClock says whether a clock is configured. lines are the roster's lines in the file.
func parseRoster(file string, knownClock func(string) bool) (roster []store.RosterEntry, lines []int, problems csvio.Problems) {
	t, err := csvio.ReadRoster(file)
	if err != nil {
		problems = csvio.AsProblems(err)
		if t == nil {
			return nil, nil, problems
		}
	}
	staff, more := csvio.ParseStaff(t)
	problems = append(problems, more...)
	_, withClocks := t.Cols["clock_user_ids"]
	unitOf := map[string]csvio.Staff{} // window → its first row: one window, one unit
	for _, st := range staff {
		bad := false
		if st.Name == "" {
			problems = append(problems, t.Problem(st.Line, "name is empty"))
			bad = true
		}
		if st.Unit == "" {
			problems = append(problems, t.Problem(st.Line, "unit is empty: every window belongs to a window unit"))
			bad = true
		}
		if len(st.ID) > 100 || len(st.Name) > 100 || len(st.Window) > 100 || len(st.Unit) > 100 {
			problems = append(problems, t.Problem(st.Line, "a value is longer than 100 bytes"))
			bad = true
		}
		if first, ok := unitOf[st.Window]; ok && first.Unit != st.Unit && st.Unit != "" {
			problems = append(problems, t.Problem(st.Line, "window %q is under unit %q on line %d and under %q here: a window belongs to one unit",
				st.Window, first.Unit, first.Line, st.Unit))
			bad = true
		} else if !ok && st.Unit != "" {
			unitOf[st.Window] = st
		}
		e := store.RosterEntry{Staff: store.Staff{StaffID: st.ID, Name: st.Name, Window: st.Window, Unit: st.Unit, Active: true,
			StartDate: st.StartDate, EndDate: st.EndDate}}
		if withClocks {
			e.Enrollments = []store.Enrollment{}
		}
		for _, cu := range st.Clocks {
			if !knownClock(cu.Clock) {
				problems = append(problems, t.Problem(st.Line, "unknown clock %q in clock_user_ids; configure it under clocks or fix the name", cu.Clock))
				bad = true
				continue
			}
			e.Enrollments = append(e.Enrollments, store.Enrollment{Clock: cu.Clock, UserID: cu.UserID})
		}
		if !bad {
			roster = append(roster, e)
			lines = append(lines, st.Line)
		}
	}
	return roster, lines, problems
}
