package reports

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/kaoqin/kaoqin/leave"
)

// The JSON shapes. Codes, not words: JSON is for programs. Days are numbers with halves
// (10.5); times are wall clock "YYYY-MM-DD HH:MM:SS".

const jsonTime = "2006-01-02 15:04:05"

type jsonNamedDay struct {
	Date    string `json:"date"`
	Name    string `json:"name"`
	Working bool   `json:"working"`
}

type jsonMonth struct {
	Month       string         `json:"month"`
	Center      string         `json:"center,omitempty"`
	Scope       string         `json:"scope,omitempty"` // the unit or window the report is narrowed to
	Status      string         `json:"status"`          // "open" or "closed"
	NamedDays   []jsonNamedDay `json:"named_days"`      // holidays, make-up working days, overrides
	Closing     *jsonClosing   `json:"closing"`
	Generated   string         `json:"generated,omitempty"`
	Provisional int            `json:"provisional_segments"`
	Staff       []jsonStaffRow `json:"staff"`
	Windows     []jsonGroup    `json:"windows"`
	Units       []jsonGroup    `json:"units"`
	Total       jsonTotals     `json:"total"`
	Details     []jsonResult   `json:"details"`
}

type jsonClosing struct {
	ClosedAt    string           `json:"closed_at"`
	ClosedBy    string           `json:"closed_by"`
	Corrections []jsonCorrection `json:"corrections"`
}

type jsonCorrection struct {
	StaffID string `json:"staff_id"`
	Date    string `json:"date"`
	Segment string `json:"segment"`
	Change  string `json:"change"`
	Reason  string `json:"reason"`
	Actor   string `json:"actor"`
	At      string `json:"at"`
}

type jsonTotals struct {
	Staff             int                `json:"staff"`
	DaysDue           float64            `json:"days_due"`
	SegmentsDue       int                `json:"segments_due"`
	SegmentsPresent   int                `json:"segments_present"`
	Late              int                `json:"late"`
	LateMinutes       int                `json:"late_minutes"`
	Early             int                `json:"early"`
	EarlyMinutes      int                `json:"early_minutes"`
	MissingPunches    int                `json:"missing_punches"`
	AbsentDays        float64            `json:"absent_days"`
	OffPost           int                `json:"off_post"`
	LeaveDays         map[string]float64 `json:"leave_days"` // by leave type, every type present
	LeaveDaysTotal    float64            `json:"leave_days_total"`
	Exempt            int                `json:"exempt"`
	UnrecognisedSlips int                `json:"unrecognised_slips"`
	Provisional       int                `json:"provisional_segments"`
}

type jsonStaffRow struct {
	StaffID string `json:"staff_id"`
	Name    string `json:"name"`
	Window  string `json:"window"`
	Unit    string `json:"unit"`
	Active  bool   `json:"active"`
	jsonTotals
}

type jsonGroup struct {
	Name  string   `json:"name"`
	Units []string `json:"units,omitempty"`
	jsonTotals
}

type jsonResult struct {
	StaffID      string       `json:"staff_id"`
	Date         string       `json:"date"`
	Segment      string       `json:"segment"`
	Provisional  bool         `json:"provisional"`
	Findings     []string     `json:"findings"`
	LateMinutes  int          `json:"late_minutes"`
	EarlyMinutes int          `json:"early_minutes"`
	OffPost      int          `json:"off_post"`
	LeaveType    string       `json:"leave_type"`
	SignIn       string       `json:"sign_in"`
	SignOut      string       `json:"sign_out"`
	Evidence     jsonEvidence `json:"evidence"`
}

type jsonEvidence struct {
	Punches  []jsonPunch   `json:"punches"`
	Slips    []jsonSlip    `json:"slips"`
	Patrols  []jsonPatrol  `json:"patrols"`
	Failures []jsonFailure `json:"failures"`
}

type jsonPunch struct {
	Time       string `json:"time"`
	Clock      string `json:"clock"`
	Manual     bool   `json:"manual,omitempty"`
	Reason     string `json:"reason,omitempty"`
	RecordedBy string `json:"recorded_by,omitempty"`
	Use        string `json:"use"` // sign_in, sign_out, stray, unused
}

type jsonSlip struct {
	Ref        string   `json:"ref"`
	Type       string   `json:"type"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	FiledAt    string   `json:"filed_at"`
	Approvals  []string `json:"approvals"`
	Recognised bool     `json:"recognised"`
	Reasons    []string `json:"reasons"`
}

type jsonPatrol struct {
	Ref         string `json:"ref"`
	From        string `json:"from"`
	To          string `json:"to"`
	Observation string `json:"observation"`
}

type jsonFailure struct {
	Ref        string `json:"ref"`
	From       string `json:"from"`
	To         string `json:"to"`
	ReportedAt string `json:"reported_at"`
}

var useCodes = [...]string{Unused: "unused", SignIn: "sign_in", SignOut: "sign_out", Stray: "stray"}

func fmtJSONTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(jsonTime)
}

func toJSONTotals(t *Totals) jsonTotals {
	j := jsonTotals{Staff: t.Staff, DaysDue: float64(t.SegmentsDue) / 2, SegmentsDue: t.SegmentsDue, SegmentsPresent: t.Present,
		Late: t.Late, LateMinutes: t.LateMinutes, Early: t.Early, EarlyMinutes: t.EarlyMinutes, MissingPunches: t.MissingPunches,
		AbsentDays: float64(t.AbsentSegments) / 2, OffPost: t.OffPost, LeaveDays: make(map[string]float64, numLeaveTypes),
		LeaveDaysTotal: float64(t.LeaveTotal()) / 2, Exempt: t.Exempt, UnrecognisedSlips: t.UnrecognisedSlips, Provisional: t.Provisional}
	for i, lt := range leave.Types {
		j.LeaveDays[string(lt)] = float64(t.LeaveSegments[i]) / 2
	}
	return j
}

func toJSONResult(r *Result) jsonResult {
	j := jsonResult{StaffID: r.StaffID, Date: r.Date.String(), Segment: r.Segment.String(), Provisional: r.Provisional,
		Findings: r.Findings.Codes(make([]string, 0, 2)), LateMinutes: r.LateMinutes, EarlyMinutes: r.EarlyMinutes,
		OffPost: r.OffPost, LeaveType: r.LeaveType, SignIn: r.SignIn.String(), SignOut: r.SignOut.String()}
	ev := &r.Evidence
	j.Evidence = jsonEvidence{Punches: []jsonPunch{}, Slips: []jsonSlip{}, Patrols: []jsonPatrol{}, Failures: []jsonFailure{}}
	for _, p := range ev.Punches {
		j.Evidence.Punches = append(j.Evidence.Punches, jsonPunch{Time: fmtJSONTime(p.At), Clock: p.Clock, Manual: p.Manual,
			Reason: p.Reason, RecordedBy: p.RecordedBy, Use: useCodes[p.Use]})
	}
	for _, s := range ev.Slips {
		j.Evidence.Slips = append(j.Evidence.Slips, jsonSlip{Ref: s.Ref, Type: s.Type, From: fmtJSONTime(s.From), To: fmtJSONTime(s.To),
			FiledAt: fmtJSONTime(s.FiledAt), Approvals: nonNil(s.Approvals), Recognised: s.Recognised, Reasons: nonNil(s.Reasons)})
	}
	for _, p := range ev.Patrols {
		obs := "absent"
		if p.Present {
			obs = "present"
		}
		j.Evidence.Patrols = append(j.Evidence.Patrols, jsonPatrol{Ref: p.Ref, From: fmtJSONTime(p.From), To: fmtJSONTime(p.To), Observation: obs})
	}
	for _, f := range ev.Failures {
		j.Evidence.Failures = append(j.Evidence.Failures, jsonFailure{Ref: f.Ref, From: fmtJSONTime(f.From), To: fmtJSONTime(f.To), ReportedAt: fmtJSONTime(f.ReportedAt)})
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes the whole report, every view and the detail with its evidence, as one JSON
// object.
func (r *MonthReport) WriteJSON(w io.Writer) error {
	j := jsonMonth{Month: r.Month.String(), Status: "open", Generated: fmtJSONTime(r.Generated), Provisional: r.Provisional(),
		Staff: make([]jsonStaffRow, len(r.Rows)), Windows: make([]jsonGroup, len(r.Windows)), Units: make([]jsonGroup, len(r.Units)),
		Total: toJSONTotals(&r.Total), Details: make([]jsonResult, len(r.Details)), Center: r.Center, Scope: r.Scope, NamedDays: []jsonNamedDay{}}
	for _, d := range r.Days {
		if d.Name != "" {
			j.NamedDays = append(j.NamedDays, jsonNamedDay{Date: d.Date.String(), Name: d.Name, Working: d.Working})
		}
	}
	if c := r.Closing; c != nil {
		j.Status = "closed"
		j.Closing = &jsonClosing{ClosedAt: fmtJSONTime(c.ClosedAt), ClosedBy: c.ClosedBy, Corrections: []jsonCorrection{}}
		for _, x := range c.Corrections {
			j.Closing.Corrections = append(j.Closing.Corrections, jsonCorrection{StaffID: x.StaffID, Date: x.Date.String(),
				Segment: x.Segment.String(), Change: x.Change, Reason: x.Reason, Actor: x.Actor, At: fmtJSONTime(x.At)})
		}
	}
	for i := range r.Rows {
		x := &r.Rows[i]
		j.Staff[i] = jsonStaffRow{StaffID: x.Staff.ID, Name: x.Staff.Name, Window: x.Staff.Window, Unit: x.Staff.Unit, Active: x.Staff.Active, jsonTotals: toJSONTotals(&x.Totals)}
	}
	for i := range r.Windows {
		g := &r.Windows[i]
		j.Windows[i] = jsonGroup{Name: g.Name, Units: g.Units, jsonTotals: toJSONTotals(&g.Totals)}
	}
	for i := range r.Units {
		g := &r.Units[i]
		j.Units[i] = jsonGroup{Name: g.Name, jsonTotals: toJSONTotals(&g.Totals)}
	}
	for i := range r.Details {
		j.Details[i] = toJSONResult(r.Details[i].Result)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", " ")
	if err := enc.Encode(j); err != nil {
		return err
	}
	return bw.Flush()
}
