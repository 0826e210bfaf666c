// Package dbreport fills the reports' inputs from the database: the monthly report (stored
// results, roster, closing and corrections) and the daily status (roster with each staff member's
// clocks, the day's stored results, and when each clock was last read). The CLI and the web share
// it, so `kaoqin report` and the dashboard show the same figures.
package dbreport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/attendance"
	"github.com/kaoqin/kaoqin/internal/results"
	"github.com/kaoqin/kaoqin/internal/store"
	"github.com/kaoqin/kaoqin/reports"
)

// Month fills the monthly report's input from the database: the roster, the stored
// results (corrections applied, R19 provisional where not final), and the month's closing with
// its corrections.
func Month(ctx context.Context, s *store.Store, rules *attendance.Rules, month reports.Month) (*reports.MonthInput, error) {
	in := &reports.MonthInput{Month: month, Calendar: rules.Calendar}
	staff, err := s.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range staff {
		in.Staff = append(in.Staff, reports.Staff{ID: st.StaffID, Name: st.Name, Window: st.Window, Unit: st.Unit, Active: st.Active})
	}
	from, to := month.First().Time(), month.Last().Time()
	rows, err := s.Results(ctx, from, to, "")
	if err != nil {
		return nil, err
	}
	in.Results = make([]reports.Result, 0, len(rows))
	for i := range rows {
		r, err := Result(rules, &rows[i])
		if err != nil {
			return nil, fmt.Errorf("stored result %s %s %s: %w", rows[i].StaffID, rows[i].Day, rows[i].Segment, err)
		}
		in.Results = append(in.Results, r)
	}
	if err := fillSlips(ctx, s, in.Results, from, to.AddDate(0, 0, 1)); err != nil {
		return nil, err
	}
	c, err := s.GetMonthClosing(ctx, month.String())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return in, nil
	case err != nil:
		return nil, err
	}
	in.Closing = &reports.Closing{ClosedAt: c.ClosedAt, ClosedBy: c.ClosedBy}
	cs, err := s.Corrections(ctx, from, to, "")
	if err != nil {
		return nil, err
	}
	for _, x := range cs {
		d, _ := attendance.ParseDate(x.Day)
		seg := attendance.AM
		if x.Segment == "pm" {
			seg = attendance.PM
		}
		in.Closing.Corrections = append(in.Closing.Corrections, reports.Correction{StaffID: x.StaffID, Date: d, Segment: seg,
			Change: DescribeValues(x.Values), Reason: x.Reason, Actor: x.Actor, At: x.At})
	}
	return in, nil
}

// fillSlips gives the slips in the results' evidence their filing time and approvals from the
// slips as filed: the stored evidence keeps the verdict, not the slip, and the findings detail
// must read the same from the database as from the files.
func fillSlips(ctx context.Context, s *store.Store, rs []reports.Result, from, to time.Time) error {
	any := false
	for i := range rs {
		if len(rs[i].Evidence.Slips) > 0 {
			any = true
			break
		}
	}
	if !any {
		return nil
	}
	slips, err := s.LeaveSlips(ctx, "", from, to)
	if err != nil {
		return err
	}
	byRef := make(map[string]*store.LeaveSlip, len(slips))
	for i := range slips {
		byRef[SlipRef(slips[i].ID)] = &slips[i]
	}
	for i := range rs {
		for k := range rs[i].Evidence.Slips {
			sl := &rs[i].Evidence.Slips[k]
			if raw := byRef[sl.Ref]; raw != nil {
				sl.FiledAt = raw.FiledAt
				if raw.Approvals != "" {
					sl.Approvals = strings.Split(raw.Approvals, ";")
				}
			}
		}
	}
	return nil
}

// SlipRef is how the reports name a stored slip.
func SlipRef(id int64) string { return "slip " + strconv.FormatInt(id, 10) }

// DescribeValues says what a correction set the segment to: "LATE 5" or "LEAVE sick" or "normal".
func DescribeValues(v store.Values) string {
	if v.Findings == "" {
		return "normal"
	}
	var parts []string
	for _, c := range strings.Split(v.Findings, ";") {
		switch c {
		case "LATE":
			c += " " + strconv.Itoa(v.LateMinutes)
		case "EARLY":
			c += " " + strconv.Itoa(v.EarlyMinutes)
		case "OFF_POST":
			c += " " + strconv.Itoa(v.OffPost)
		case "LEAVE":
			c += " " + v.LeaveType
		}
		parts = append(parts, c)
	}
	return "→ " + strings.Join(parts, ", ")
}

// Result turns a stored result into the reports' form: findings parsed, evidence (kept only for
// segments with findings) decoded, and each punch labelled with what it counted for.
func Result(rules *attendance.Rules, sr *store.SegmentResult) (reports.Result, error) {
	d, err := attendance.ParseDate(sr.Day)
	if err != nil {
		return reports.Result{}, err
	}
	r := reports.Result{StaffID: sr.StaffID, Date: d, LateMinutes: sr.LateMinutes, EarlyMinutes: sr.EarlyMinutes,
		OffPost: sr.OffPost, LeaveType: sr.LeaveType, SignIn: attendance.NoMinute, SignOut: attendance.NoMinute, Provisional: !sr.Final}
	if sr.Segment == "pm" {
		r.Segment = attendance.PM
	}
	if sr.Findings != "" {
		for _, c := range strings.Split(sr.Findings, ";") {
			f, ok := attendance.ParseFinding(c)
			if !ok {
				return r, fmt.Errorf("unknown finding %q", c)
			}
			r.Findings |= f
		}
	}
	if sr.SignIn != "" {
		if r.SignIn, err = attendance.ParseMinute(sr.SignIn); err != nil {
			return r, err
		}
	}
	if sr.SignOut != "" {
		if r.SignOut, err = attendance.ParseMinute(sr.SignOut); err != nil {
			return r, err
		}
	}
	if r.Findings == 0 || sr.Evidence == "" {
		return r, nil // normal segments show no evidence
	}
	var ev results.Evidence
	if err := json.Unmarshal([]byte(sr.Evidence), &ev); err != nil {
		return r, fmt.Errorf("evidence: %w", err)
	}
	h := rules.Schedule.SeasonOn(d).Hours(r.Segment)
	t := func(s string) time.Time { v, _ := time.Parse(store.WallLayout, s); return v }
	same := func(a *results.PunchEvidence, p results.PunchEvidence) bool {
		return a != nil && a.At == p.At && a.Clock == p.Clock && a.Manual == p.Manual
	}
	for _, p := range ev.Punches {
		rp := reports.Punch{At: t(p.At), Clock: p.Clock, Manual: p.Manual, Reason: p.Reason, RecordedBy: p.RecordedBy}
		m := attendance.MinuteOf(rp.At)
		switch {
		case same(ev.SignIn, p):
			rp.Use = reports.SignIn
		case same(ev.SignOut, p):
			rp.Use = reports.SignOut
		case !h.In.Contains(m) && !h.Out.Contains(m):
			rp.Use = reports.Stray
		}
		r.Evidence.Punches = append(r.Evidence.Punches, rp)
	}
	for _, s := range ev.Slips {
		r.Evidence.Slips = append(r.Evidence.Slips, reports.Slip{Ref: SlipRef(s.ID), Type: s.Type,
			From: t(s.From), To: t(s.To), Recognised: s.Recognised, Reasons: s.Why})
	}
	for _, p := range ev.Patrols {
		r.Evidence.Patrols = append(r.Evidence.Patrols, reports.Patrol{Ref: "patrol " + strconv.FormatInt(p.ID, 10), From: t(p.From), To: t(p.To), Present: p.Present})
	}
	for _, f := range ev.Failures {
		r.Evidence.Failures = append(r.Evidence.Failures, reports.Failure{Ref: "failure " + strconv.FormatInt(f.ID, 10),
			From: t(f.From), To: t(f.To), ReportedAt: t(f.ReportedAt)})
	}
	return r, nil
}
