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
}

func startMonthlyReports(cfg *config.Config, st *store.Store, rules *attendance.Rules, log *slog.Logger) (stop func(), err error) {
	if cfg.Reports.Dir == "" || cfg.Reports.Monthly == "" {
		return func() {}, nil
	}
	m := &monthlyReports{dir: cfg.Reports.Dir, loc: cfg.Location(), st: st, rules: rules, log: log.With("job", "monthly-report"), now: time.Now}
	c := cron.New(cron.WithLocation(cfg.Location()), cron.WithParser(cronSpec{}))
	if _, err := c.AddFunc(cfg.Reports.Monthly, func() {
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
	rep := reports.BuildMonth(in)
	if err := os.MkdirAll(m.dir, 0o750); err != nil {
		return nil, err
	}
	stamp := now.Format("20060102-1504")
	var files []string
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{"xlsx", rep.WriteXLSX}, {"csv", rep.WriteCSV}, {"html", rep.WriteHTML}} {
		path := filepath.Join(m.dir, fmt.Sprintf("kaoqin-%s-made-%s.%s", first.Format("2006-01"), stamp, f.ext))
		if err := writeAtomically(path, f.write); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	m.log.Info("monthly report written", "month", first.Format("2006-01"), "files", files)
	return files, nil
}

// writeAtomically writes path through a temporary file in the same directory, so a reader never
// sees half a report and a failed write leaves nothing behind.
func writeAtomically(path string, write func(io.Writer) error) error {
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
