package cli

import (
	"context"
	"fmt"

	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

func runImportStaff(ctx context.Context, e *env, args []string) int {
	f := e.flags("import staff", "import staff [--config FILE] [--actor NAME] FILE.csv\n\n"+
		"Columns staff_id,name,window,unit and optionally clock_user_ids (clock:id;clock:id), start_date and\n"+
		"end_date (YYYY-MM-DD: no result is computed outside them), UTF-8.\n"+
		"One transaction: any bad row and nothing is written. Staff missing from the file become inactive.")
	actor := f.String("actor", "cli", "who imports, for the audit log")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		fmt.Fprintln(e.stderr, "kaoqin import staff: give exactly one CSV file")
		return exitUsage
	}
	cfg, code, ok := f.loadConfig()
	if !ok {
		return code
	}
	file := f.Arg(0)
	roster, problems := parseRoster(file, func(clock string) bool { _, ok := cfg.Clock(clock); return ok })
	if len(problems) > 0 {
		problems.Sort()
		fmt.Fprintln(e.stderr, problems.Error())
		fmt.Fprintf(e.stderr, "kaoqin import staff: %d problems; nothing was imported\n", len(problems))
		return exitUsage
	}
	s, code, ok := e.openStore(ctx, cfg, false)
	if !ok {
		return code
	}
	defer s.Close()
	res, err := s.ImportStaff(ctx, roster, *actor)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin import staff: %v; nothing was imported\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s: %d added, %d updated, %d unchanged, %d made inactive\n", file, res.Added, res.Updated, res.Unchanged, res.Deactivated)
	return exitOK
}

// parseRoster reads a roster file, checking every row; knownClock says whether a clock is
// configured.
func parseRoster(file string, knownClock func(string) bool) ([]store.RosterEntry, csvio.Problems) {
	t, err := csvio.ReadFile(file, csvio.StaffColumns...)
	var problems csvio.Problems
	if err != nil {
		problems = csvio.AsProblems(err)
		if t == nil {
			return nil, problems
		}
	}
	staff, more := csvio.ParseStaff(t)
	problems = append(problems, more...)
	_, withClocks := t.Cols["clock_user_ids"]
	var roster []store.RosterEntry
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
		}
	}
	return roster, problems
}
