package reports

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"html/template"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/kaoqin/kaoqin/attendance"
)

// Clock is a time clock and when it was last read successfully.
type Clock struct {
	Name     string
	LastRead time.Time // wall clock; zero: never read
}

// DayInput is everything the daily status reads.
type DayInput struct {
	Date attendance.Date
	// At is the wall-clock time the status is as of: punch windows still open at At are "not
	// yet", not missing.
	At      time.Time
	Working bool
	// Hours are the day's AM and PM hours and punch windows (its season, R1, R2).
	Hours   [2]attendance.Hours
	Staff   []Staff
	Results []Result // the results of Date; others are ignored
	Clocks  []Clock
}

// DayState is what a segment shows so far.
type DayState string

// The states of a segment in the daily status, one per segment: the first that applies.
const (
	StateLeave     DayState = "leave"      // on recognised leave (LEAVE)
	StateAbsent    DayState = "absent"     // ABSENT, and both punch windows have closed
	StateNotYet    DayState = "not_yet"    // no sign-in, and the sign-in window is still open
	StateMissing   DayState = "missing"    // no sign-in after the sign-in window closed (MISSING_IN, or ABSENT in the making)
	StateExempt    DayState = "exempt"     // no sign-in, excused by a failure report (EXEMPT)
	StateLate      DayState = "late"       // signed in late
	StateSignedIn  DayState = "signed_in"  // signed in on time
	StateNoResult  DayState = "no_result"  // the staff member has no result for the segment
	StateNotOpened DayState = "not_opened" // the segment's sign-in window has not opened yet (not listed)
)

var stateNames = map[DayState]string{StateLeave: "请假", StateAbsent: "旷工", StateNotYet: "未签到", StateMissing: "签到缺卡",
	StateExempt: "故障免责", StateLate: "迟到", StateSignedIn: "已签到", StateNoResult: "无结果"}

// DaySegment is one segment of one staff member so far.
type DaySegment struct {
	Segment attendance.Segment
	State   DayState
	// Text says it all in Chinese: "08:42签到，迟到12分钟；12:03签退".
	Text        string
	Result      *Result // nil with StateNoResult
	OffPost     []Patrol
	Provisional bool
}

// DayStaff is one staff member's segments so far.
type DayStaff struct {
	Staff    *Staff
	Segments []DaySegment
}

// DayWindow is one service window.
type DayWindow struct {
	Name        string
	Units       []string
	Staff       []DayStaff
	StaleClocks []string // clocks its staff use that were not read since Since
}

// StaleClock is a clock not read since the latest punch window opened.
type StaleClock struct {
	Name     string
	LastRead time.Time
}

// DayReport is the status of every window on one day.
type DayReport struct {
	Date    attendance.Date
	At      time.Time
	Working bool
	// Since is when the latest punch window opened at At (zero before the first): a clock not
	// read since then may hold punches the status does not show.
	Since       time.Time
	Clocks      int // how many clocks the status knows the reads of
	StaleClocks []StaleClock
	Windows     []DayWindow
}

// BuildDay makes the daily status. It keeps pointers into in.Staff and in.Results.
func BuildDay(in *DayInput) *DayReport {
	rep := &DayReport{Date: in.Date, At: in.At, Working: in.Working, Clocks: len(in.Clocks)}
	if in.Working {
		for _, h := range in.Hours {
			for _, w := range []attendance.Window{h.In, h.Out} {
				if t := in.Date.At(w.From); !t.After(in.At) && t.After(rep.Since) {
					rep.Since = t
				}
			}
		}
	}
	stale := map[string]bool{}
	if !rep.Since.IsZero() {
		for _, c := range in.Clocks {
			if c.LastRead.Before(rep.Since) {
				rep.StaleClocks = append(rep.StaleClocks, StaleClock(c))
				stale[c.Name] = true
			}
		}
	}
	type key struct {
		id  string
		seg attendance.Segment
	}
	results := map[key]*Result{}
	for i := range in.Results {
		r := &in.Results[i]
		if r.Date == in.Date {
			results[key{r.StaffID, r.Segment}] = r
		}
	}
	windows := map[string]*DayWindow{}
	for i := range in.Staff {
		s := &in.Staff[i]
		_, hasAM := results[key{s.ID, attendance.AM}]
		_, hasPM := results[key{s.ID, attendance.PM}]
		if !s.Active && !hasAM && !hasPM {
			continue
		}
		w := windows[s.Window]
		if w == nil {
			w = &DayWindow{Name: s.Window}
			windows[s.Window] = w
		}
		if !slices.Contains(w.Units, s.Unit) {
			w.Units = append(w.Units, s.Unit)
		}
		ds := DayStaff{Staff: s}
		if in.Working {
			for seg := attendance.AM; seg <= attendance.PM; seg++ {
				if in.Date.At(in.Hours[seg].In.From).After(in.At) {
					continue // not begun
				}
				ds.Segments = append(ds.Segments, daySegment(in, seg, results[key{s.ID, seg}]))
			}
		}
		w.Staff = append(w.Staff, ds)
		clocks := s.Clocks
		if len(clocks) == 0 {
			for _, c := range rep.StaleClocks {
				clocks = append(clocks, c.Name)
			}
		}
		for _, c := range clocks {
			if stale[c] && !slices.Contains(w.StaleClocks, c) {
				w.StaleClocks = append(w.StaleClocks, c)
			}
		}
	}
	coll := collate.New(language.SimplifiedChinese, collate.Numeric)
	for _, w := range windows {
		slices.SortFunc(w.Staff, func(a, b DayStaff) int { return strings.Compare(a.Staff.ID, b.Staff.ID) })
		slices.SortFunc(w.Units, coll.CompareString)
		slices.Sort(w.StaleClocks)
		rep.Windows = append(rep.Windows, *w)
	}
	slices.SortFunc(rep.Windows, func(a, b DayWindow) int {
		return cmp.Or(coll.CompareString(a.Name, b.Name), strings.Compare(a.Name, b.Name))
	})
	return rep
}

func daySegment(in *DayInput, seg attendance.Segment, r *Result) DaySegment {
	ds := DaySegment{Segment: seg, Result: r}
	if r == nil {
		ds.State, ds.Text = StateNoResult, stateNames[StateNoResult]
		return ds
	}
	ds.Provisional = r.Provisional
	h := in.Hours[seg]
	inOpen := !in.At.After(in.Date.At(h.In.To))
	outDone := in.At.After(in.Date.At(h.Out.To))
	f := r.Findings
	var parts []string
	switch {
	case f.Has(attendance.OnLeave):
		ds.State = StateLeave
		parts = append(parts, "请假（"+leaveName(r.LeaveType)+"）")
	case r.SignIn != attendance.NoMinute:
		ds.State = StateSignedIn
		p := r.SignIn.String() + "签到"
		if f.Has(attendance.Late) && r.LateMinutes > 0 {
			ds.State = StateLate
			p += "，迟到" + strconv.Itoa(r.LateMinutes) + "分钟"
		}
		parts = append(parts, p)
	case inOpen:
		ds.State = StateNotYet
		parts = append(parts, "未签到")
	case f.Has(attendance.Exempt) && !f.Has(attendance.MissingIn) && !f.Has(attendance.Absent):
		ds.State = StateExempt
		parts = append(parts, "签到缺卡（故障免责）")
	case f.Has(attendance.Absent) && outDone:
		ds.State = StateAbsent
		parts = append(parts, "旷工")
	default:
		ds.State = StateMissing
		parts = append(parts, "签到缺卡")
	}
	if ds.State != StateLeave && ds.State != StateAbsent {
		switch {
		case r.SignOut != attendance.NoMinute:
			p := r.SignOut.String() + "签退"
			if f.Has(attendance.Early) && r.EarlyMinutes > 0 && outDone {
				p += "，早退" + strconv.Itoa(r.EarlyMinutes) + "分钟"
			}
			parts = append(parts, p)
		case outDone && f.Has(attendance.MissingOut):
			parts = append(parts, "签退缺卡")
		case outDone && f.Has(attendance.Exempt):
			parts = append(parts, "签退缺卡（故障免责）")
		}
	}
	if f.Has(attendance.LeaveUnrecognised) {
		parts = append(parts, "请假未认可")
	}
	if f.Has(attendance.OffPost) {
		for _, p := range r.Evidence.Patrols {
			if !p.Present {
				ds.OffPost = append(ds.OffPost, p)
			}
		}
		p := "脱岗" + strconv.Itoa(max(r.OffPost, 1)) + "次"
		if len(ds.OffPost) > 0 {
			p += "（" + patrolsText(ds.OffPost) + "）"
		}
		parts = append(parts, p)
	}
	ds.Text = strings.Join(parts, "；")
	return ds
}

func (r *DayReport) title() string {
	t := r.Date.Time()
	return fmt.Sprintf("%d年%d月%d日（%s）窗口考勤状态", t.Year(), int(t.Month()), t.Day(), weekday(r.Date))
}

func (r *DayReport) asOf() string {
	s := "截至 " + r.At.Format("2006-01-02 15:04")
	if !r.Working {
		s += "。非工作日，无考勤"
	}
	return s + "。标“暂定”者为暂定结果，可能随打卡机读取、请假条等变化。"
}

func (r *DayReport) staleText() string {
	if r.Since.IsZero() || r.Clocks == 0 {
		return ""
	}
	if len(r.StaleClocks) == 0 {
		return "所有打卡机均已在 " + hm(r.Since) + " 打卡时段开始后读取。"
	}
	var parts []string
	for _, c := range r.StaleClocks {
		last := "从未读取"
		if !c.LastRead.IsZero() {
			last = "最后读取 " + c.LastRead.Format("01-02 15:04")
		}
		parts = append(parts, c.Name+"（"+last+"）")
	}
	return hm(r.Since) + " 打卡时段开始后未读取的打卡机：" + strings.Join(parts, "、") + "。其打卡记录可能尚未计入。"
}

// WriteText writes the daily status as plain text, a block per window.
func (r *DayReport) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n%s\n", r.title(), r.asOf())
	if s := r.staleText(); s != "" {
		fmt.Fprintln(bw, s)
	}
	for _, win := range r.Windows {
		fmt.Fprintf(bw, "\n【%s】%s\n", win.Name, strings.Join(win.Units, "、"))
		if len(win.StaleClocks) > 0 {
			fmt.Fprintf(bw, "  未读取打卡机：%s\n", strings.Join(win.StaleClocks, "、"))
		}
		for _, s := range win.Staff {
			fmt.Fprintf(bw, "  %s %s", s.Staff.ID, s.Staff.Name)
			if len(s.Segments) == 0 {
				fmt.Fprint(bw, "  无时段")
			}
			for _, seg := range s.Segments {
				fmt.Fprintf(bw, "  %s：%s", segmentName(seg.Segment), seg.Text)
				if seg.Provisional {
					fmt.Fprint(bw, "（暂定）")
				}
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

var dayCSVHeader = []string{"窗口", "单位", "工号", "姓名", "时段", "状态", "说明", "签到", "签退", "迟到分钟", "脱岗次数", "假别", "暂定", "未读取打卡机"}

// WriteCSV writes the daily status as CSV (UTF-8 with a byte-order mark): one row per staff
// member and begun segment.
func (r *DayReport) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(utf8BOM)
	cw := csv.NewWriter(bw)
	cw.Write(dayCSVHeader)
	for _, win := range r.Windows {
		units := strings.Join(win.Units, "、")
		stale := strings.Join(win.StaleClocks, "、")
		for _, s := range win.Staff {
			for _, seg := range s.Segments {
				rec := []string{win.Name, units, s.Staff.ID, s.Staff.Name, segmentName(seg.Segment), stateNames[seg.State], seg.Text, "", "", "0", "0", "", "否", stale}
				if res := seg.Result; res != nil {
					rec[7], rec[8] = res.SignIn.String(), res.SignOut.String()
					rec[9], rec[10] = strconv.Itoa(res.LateMinutes), strconv.Itoa(res.OffPost)
					if res.LeaveType != "" {
						rec[11] = leaveName(res.LeaveType)
					}
				}
				if seg.Provisional {
					rec[12] = "是"
				}
				cw.Write(rec)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

type dayHTML struct {
	Title, AsOf, Stale string
	CSS                template.CSS
	Windows            []DayWindow
}

// WriteHTML writes the daily status as a printable page, a table per window.
func (r *DayReport) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := dayTmpl.Execute(bw, dayHTML{Title: r.title(), AsOf: r.asOf(), Stale: r.staleText(), CSS: pageCSS, Windows: r.Windows}); err != nil {
		return err
	}
	return bw.Flush()
}

type jsonDay struct {
	Date        string          `json:"date"`
	At          string          `json:"at"`
	Working     bool            `json:"working"`
	Since       string          `json:"windows_opened_at"`
	StaleClocks []jsonClock     `json:"stale_clocks"`
	Windows     []jsonDayWindow `json:"windows"`
}

type jsonClock struct {
	Name     string `json:"name"`
	LastRead string `json:"last_read"`
}

type jsonDayWindow struct {
	Name        string         `json:"name"`
	Units       []string       `json:"units"`
	StaleClocks []string       `json:"stale_clocks"`
	Staff       []jsonDayStaff `json:"staff"`
}

type jsonDayStaff struct {
	StaffID  string           `json:"staff_id"`
	Name     string           `json:"name"`
	Segments []jsonDaySegment `json:"segments"`
}

type jsonDaySegment struct {
	Segment     string      `json:"segment"`
	State       DayState    `json:"state"`
	Text        string      `json:"text"`
	Provisional bool        `json:"provisional"`
	Result      *jsonResult `json:"result"`
}

// WriteJSON writes the daily status as one JSON object.
func (r *DayReport) WriteJSON(w io.Writer) error {
	j := jsonDay{Date: r.Date.String(), At: fmtJSONTime(r.At), Working: r.Working, Since: fmtJSONTime(r.Since),
		StaleClocks: []jsonClock{}, Windows: []jsonDayWindow{}}
	for _, c := range r.StaleClocks {
		j.StaleClocks = append(j.StaleClocks, jsonClock{c.Name, fmtJSONTime(c.LastRead)})
	}
	for _, win := range r.Windows {
		jw := jsonDayWindow{Name: win.Name, Units: win.Units, StaleClocks: nonNil(win.StaleClocks), Staff: []jsonDayStaff{}}
		for _, s := range win.Staff {
			js := jsonDayStaff{StaffID: s.Staff.ID, Name: s.Staff.Name, Segments: []jsonDaySegment{}}
			for _, seg := range s.Segments {
				jseg := jsonDaySegment{Segment: seg.Segment.String(), State: seg.State, Text: seg.Text, Provisional: seg.Provisional}
				if seg.Result != nil {
					jr := toJSONResult(seg.Result)
					jseg.Result = &jr
				}
				js.Segments = append(js.Segments, jseg)
			}
			jw.Staff = append(jw.Staff, js)
		}
		j.Windows = append(j.Windows, jw)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", " ")
	if err := enc.Encode(j); err != nil {
		return err
	}
	return bw.Flush()
}
