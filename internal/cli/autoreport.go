package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/config"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// monthlyReports writes last month's discipline report (XLSX, CSV, HTML) into cfg.Reports.Dir on
// the schedule cfg.Reports.Monthly (the 1st at 06:00 by default). Earlier reports are kept: each
// file is named after its month and the time it was made, and written through a temporary file.
type monthlyReports struct {
	dir   string
	loc   *time.Location
	st    *store.Store
	rules *attendance.Rules
	log   *slog.Logger
	now   func() time.Time
	// gid owns the directory and the reports (reports.group), -1 for the daemon's own group.
	gid int
	// center is the center's name for the titles (center.name).
	center string
}

// leader, when set, tells whether this daemon holds the leader lease: with several daemons on one
// database only the leader writes the report.
func startMonthlyReports(cfg *config.Config, st *store.Store, rules *attendance.Rules, log *slog.Logger, leader func() bool) (stop func(), err error) {
	if cfg.Reports.Dir == "" || cfg.Reports.Monthly == "" {
		return func() {}, nil
	}
	m := &monthlyReports{dir: cfg.Reports.Dir, loc: cfg.Location(), st: st, rules: rules, log: log.With("job", "monthly-report"), now: time.Now, gid: -1, center: cfg.Center.Name}
	if cfg.Reports.Group != "" {
		if m.gid, err = config.LookupGroup(cfg.Reports.Group); err != nil {
			return nil, fmt.Errorf("reports.group: %w", err)
		}
	}
	c := cron.New(cron.WithLocation(cfg.Location()), cron.WithParser(cronSpec{}))
	if _, err := c.AddFunc(cfg.Reports.Monthly, func() {
		if leader != nil && !leader() {
			m.log.Info("monthly report left to the daemon holding the leader lease")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := m.write(ctx); err != nil {
			m.log.Error("monthly report not written", "err", err)
		}
	}); err != nil {
		return nil, fmt.Errorf("reports.monthly: %w", err)
	}
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}

type cronSpec struct{}

func (cronSpec) Parse(spec string) (cron.Schedule, error) { return config.ParseCron(spec) }

// write makes the report of the month before now and returns the files written.
func (m *monthlyReports) write(ctx context.Context) ([]string, error) {
	now := m.now().In(m.loc)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	month, err := reports.ParseMonth(first.Format("2006-01"))
	if err != nil {
		return nil, err
	}
	in, err := monthFromStore(ctx, m.st, m.rules, month)
	if err != nil {
		return nil, err
	}
	in.Center = m.center
	rep := reports.BuildMonth(in)
	if err := reportsDir(m.dir, m.gid); err != nil {
		return nil, err
	}
	stamp := now.Format("20060102-1504")
	var files []string
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{"xlsx", rep.WriteXLSX}, {"csv", rep.WriteCSV}, {"html", rep.WriteHTML}} {
		path := filepath.Join(m.dir, fmt.Sprintf("kaoqin-%s-made-%s.%s", first.Format("2006-01"), stamp, f.ext))
		if err := writeShared(path, m.gid, f.write); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	m.log.Info("monthly report written", "month", first.Format("2006-01"), "files", files)
	return files, nil
}

// reportsDir makes the reports directory 0750, of group gid when gid >= 0, so that the group
// (HR's share) may list and read it and nobody else may.
func reportsDir(dir string, gid int) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	// MkdirAll is subject to the umask; the mode is what the docs state (a setgid bit an operator
	// set is kept).
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if mode := fi.Mode()&(os.ModeSetgid|os.ModeSticky) | 0o750; fi.Mode()&(os.ModePerm|os.ModeSetgid|os.ModeSticky) != mode {
		if err := os.Chmod(dir, mode); err != nil {
			return err
		}
	}
	if gid >= 0 {
		if err := os.Chown(dir, -1, gid); err != nil {
			return fmt.Errorf("reports.group: give %s to group %d: %w (the daemon's user must be a member of the group)", dir, gid, err)
		}
	}
	return nil
}

// writeShared writes a report as writeAtomically does, mode 0640 and of group gid when gid >= 0.
func writeShared(path string, gid int, write func(io.Writer) error) error {
	return writeFileAtomically(path, func(f *os.File) error {
		if err := f.Chmod(0o640); err != nil {
			return err
		}
		if gid >= 0 {
			if err := f.Chown(-1, gid); err != nil {
				return fmt.Errorf("reports.group: give %s to group %d: %w (the daemon's user must be a member of the group)", path, gid, err)
			}
		}
		return write(f)
	})
}

// writeAtomically writes path through a temporary file in the same directory, so a reader never
// sees half a report and a failed write leaves nothing behind.
func writeAtomically(path string, write func(io.Writer) error) error {
	return writeFileAtomically(path, func(f *os.File) error { return write(f) })
}

func writeFileAtomically(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
