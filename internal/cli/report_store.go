package cli

import (
	"context"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/dbreport"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// monthFromStore fills the monthly report's input from the database (package dbreport, shared
// with the web).
func monthFromStore(ctx context.Context, s *store.Store, rules *attendance.Rules, month reports.Month) (*reports.MonthInput, error) {
	return dbreport.Month(ctx, s, rules, month)
}
