package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kaoqin/kaoqin/internal/csvio"
	"github.com/kaoqin/kaoqin/internal/store"
)

func runLeaveList(ctx context.Context, e *env, args []string) int {
	f := e.flags("leave list", "leave list [--config FILE] [--staff ID] --from YYYY-MM-DD --to YYYY-MM-DD\n\n"+
		"Lists the leave slips overlapping the days, withdrawn ones marked.")
	staff := f.String("staff", "", "only this staff member's slips")
	from := f.String("from", "", "first `day`")
	to := f.String("to", "", "last `day`")
	if code, ok := f.parse(args); !ok {
		return code
	}
	fd, err1 := csvio.ParseDate(*from)
	td, err2 := csvio.ParseDate(*to)
	if err := errors.Join(err1, err2); err != nil || td.Before(fd) {
		fmt.Fprintln(e.stderr, "kaoqin leave list: give --from and --to as YYYY-MM-DD, --to not before --from")
		return exitUsage
	}
	_, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	slips, err := s.LeaveSlips(ctx, *staff, fd, td.AddDate(0, 0, 1))
	if err != nil {
		fmt.Fprintf(e.stderr, "kaoqin leave list: %v\n", err)
		return exitFail
	}
	// A slip entered after its month was closed (before such entries were refused) was stored
	// and never applied: say so, and where the change goes instead.
	closedAt := map[string]time.Time{}
	if months, err := s.ClosedMonths(ctx); err == nil {
		for _, m := range months {
			if c, err := s.GetMonthClosing(ctx, m); err == nil {
				closedAt[m] = c.ClosedAt
			}
		}
	}
	fmt.Fprintf(e.stdout, "%-6s %-8s %-10s %-16s %-16s %-16s %s\n", "ID", "STAFF", "TYPE", "START", "END", "FILED", "APPROVALS")
	for _, sl := range slips {
		state := ""
		if !sl.CancelledAt.IsZero() {
			state = "  (withdrawn " + sl.CancelledAt.Format("2006-01-02 15:04") + ")"
		}
		for d := sl.Start; !d.After(sl.End); d = d.AddDate(0, 0, 1) {
			m := d.Format("2006-01")
			if at, ok := closedAt[m]; ok && sl.CreatedAt.After(at) {
				state += "  (entered after " + m + " was closed: not applied; 本月已结账，请用更正 kaoqin month correct)"
				break
			}
		}
		fmt.Fprintf(e.stdout, "%-6d %-8s %-10s %-16s %-16s %-16s %s%s\n", sl.ID, sl.StaffID, sl.Type, sl.Start.Format("2006-01-02 15:04"),
			sl.End.Format("2006-01-02 15:04"), sl.FiledAt.Format("2006-01-02 15:04"), sl.Approvals, state)
	}
	return exitOK
}

func runLeaveCancel(ctx context.Context, e *env, args []string) int {
	f := e.flags("leave cancel", "leave cancel [--config FILE] --reason TEXT [--actor NAME] ID\n\n"+
		"Withdraws a leave slip (entered by mistake, or withdrawn by its staff member). It is kept for the\n"+
		"audit but excuses nothing; its days are recomputed, except in a closed month (use month correct).")
	reason := f.String("reason", "", "why the slip is withdrawn (required; goes to the audit log)")
	actor := f.String("actor", "cli", "who withdraws it, for the audit log")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		fmt.Fprintln(e.stderr, "kaoqin leave cancel: give the slip's ID (see kaoqin leave list)")
		return exitUsage
	}
	id, err := strconv.ParseInt(f.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(e.stderr, "kaoqin leave cancel: %q is not a slip ID\n", f.Arg(0))
		return exitUsage
	}
	_, s, code, ok := f.openStore(ctx)
	if !ok {
		return code
	}
	defer s.Close()
	sl, err := s.CancelLeaveSlip(ctx, id, *reason, *actor)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintf(e.stderr, "kaoqin leave cancel: no leave slip %d\n", id)
		return exitUsage
	case errors.Is(err, store.ErrBadInput):
		fmt.Fprintf(e.stderr, "kaoqin leave cancel: %v\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(e.stderr, "kaoqin leave cancel: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "leave slip %d of %s (%s, %s to %s) withdrawn; its days are being recomputed\n", sl.ID, sl.StaffID, sl.Type,
		sl.Start.Format("2006-01-02 15:04"), sl.End.Format("2006-01-02 15:04"))
	return exitOK
}
