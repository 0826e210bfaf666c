package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

// The imports of what the supervision section files: leave slips, patrol records, clock-failure
// reports and manual sign-ins, from the CSV files `kaoqin classify` reads (shared/spec/classify.md).
// A file is imported whole or not at all: every bad row is reported as FILE:LINE, exit 2, and
// nothing is written; a good file is one transaction, every row in the audit log, and the days it
// touches are marked for the daemon's results worker.

type importKind struct {
	name    string // the subcommand word
	what    string // plural noun for messages
	columns []string
	long    []string // columns stored in 100-byte fields
}

var (
	importLeave    = importKind{"leave", "leave slips", csvio.LeaveColumns, []string{"staff_id"}}
	importPatrol   = importKind{"patrol", "patrol records", csvio.PatrolColumns, []string{"staff_id"}}
	importFailures = importKind{"failures", "failure reports", csvio.FailureColumns, []string{"staff_id", "clock"}}
	importSignins  = importKind{"signins", "manual sign-ins", csvio.ManualColumns, []string{"staff_id", "recorded_by"}}
)

func runImportLeave(ctx context.Context, e *env, args []string) int {
	return runImport(ctx, e, importLeave, args)
}

func runImportPatrol(ctx context.Context, e *env, args []string) int {
	return runImport(ctx, e, importPatrol, args)
}

func runImportFailures(ctx context.Context, e *env, args []string) int {
	return runImport(ctx, e, importFailures, args)
}

func runImportSignins(ctx context.Context, e *env, args []string) int {
	return runImport(ctx, e, importSignins, args)
}

// parseAll parses flags wherever they stand among the positional arguments (`import leave
// FILE --actor NAME` as well as `import leave --actor NAME FILE`), returning the positional ones.
func (f *flags) parseAll(args []string) (pos []string, code int, ok bool) {
	for {
		if code, ok := f.parse(args); !ok {
			return nil, code, false
		}
		if f.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
}

func runImport(ctx context.Context, e *env, k importKind, args []string) int {
	cmd := "import " + k.name
	f := e.flags(cmd, cmd+" [--config FILE] [--actor NAME] FILE.csv\n\n"+
		"Columns "+strings.Join(k.columns, ",")+" (as kaoqin classify reads them), UTF-8.\n"+
		"One transaction: any bad row and nothing is written (exit 2, every problem as FILE:LINE).\n"+
		"Every row goes to the audit log; the days it touches are recomputed by the daemon.")
	actor := f.String("actor", "cli", "who imports, for the audit log")
	pos, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "kaoqin %s: give exactly one CSV file\n", cmd)
		return exitUsage
	}
	file := pos[0]
	cfg, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	staff, err := s.ListStaff(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin %s: %v\n", cmd, err)
		return exitFail
	}
	ids := map[string]bool{}
	for _, st := range staff {
		ids[st.StaffID] = true
	}
	known := func(id string) bool { return ids[id] }

	var problems csvio.Problems
	t, err := csvio.ReadFile(file, k.columns...)
	if err != nil {
		problems = csvio.AsProblems(err)
	}
	if t != nil {
		for _, row := range t.Rows {
			for _, c := range k.long {
				if len(row.Get(c)) > 100 {
					problems = append(problems, t.Problem(row.Line, "%s is longer than 100 bytes", c))
				}
			}
		}
	}
	var add func() (int, error)
	if t != nil {
		switch k.name {
		case "leave":
			slips, ps := csvio.ParseLeave(t, known)
			problems = append(problems, ps...)
			rows := make([]store.LeaveSlip, len(slips))
			for i, sl := range slips {
				rows[i] = store.LeaveSlip{StaffID: sl.StaffID, Type: string(sl.Type), Start: sl.Start, End: sl.End, FiledAt: sl.FiledAt,
					Approvals: sl.Approvals.String(), Note: "imported from " + sl.Ref, RecordedBy: *actor}
			}
			add = func() (int, error) { ids, err := s.AddLeaveSlips(ctx, rows, *actor); return len(ids), err }
		case "patrol":
			pats, ps := csvio.ParsePatrol(t, known)
			problems = append(problems, ps...)
			rows := make([]store.PatrolRecord, len(pats))
			for i, p := range pats {
				rows[i] = store.PatrolRecord{StaffID: p.StaffID, From: p.From, To: p.To, Present: p.Present, Note: "imported from " + p.Ref, RecordedBy: *actor}
			}
			add = func() (int, error) { ids, err := s.AddPatrols(ctx, rows, *actor); return len(ids), err }
		case "failures":
			reps, ps := csvio.ParseFailures(t, known)
			problems = append(problems, ps...)
			rows := make([]store.FailureReport, 0, len(reps))
			for _, r := range reps {
				if r.Clock != "" {
					if _, ok := cfg.Clock(r.Clock); !ok {
						problems = append(problems, t.Problem(refLine(r.Ref), "unknown clock %q; configure it under clocks or fix the name", r.Clock))
						continue
					}
				}
				rows = append(rows, store.FailureReport{StaffID: r.StaffID, Clock: r.Clock, From: r.From, To: r.To, ReportedAt: r.ReportedAt,
					Note: "imported from " + r.Ref, RecordedBy: *actor})
			}
			add = func() (int, error) { ids, err := s.AddFailureReports(ctx, rows, *actor); return len(ids), err }
		case "signins":
			ms, ps := csvio.ParseManual(t, known)
			problems = append(problems, ps...)
			rows := make([]store.ManualSignIn, len(ms))
			for i, m := range ms {
				rows[i] = store.ManualSignIn{StaffID: m.StaffID, At: m.Punch.At, Reason: m.Punch.Reason, RecordedBy: m.Punch.RecordedBy}
			}
			add = func() (int, error) { ids, err := s.AddManualSignIns(ctx, rows, *actor); return len(ids), err }
		}
	}
	if len(problems) > 0 {
		problems.Sort()
		fmt.Fprintln(e.stderr, problems.Error())
		fmt.Fprintf(e.stderr, "kaoqin %s: %d problems; nothing was imported\n", cmd, len(problems))
		return exitUsage
	}
	n, err := add()
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin %s: %v; nothing was imported\n", cmd, err)
		if errors.Is(err, store.ErrBadInput) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s: %d %s imported; the days they touch will be recomputed\n", file, n, k.what)
	return exitOK
}

// refLine is the line of a csvio Ref ("FILE:LINE").
func refLine(ref string) int {
	n, _ := strconv.Atoi(ref[strings.LastIndexByte(ref, ':')+1:])
	return n
}
