package attendance

import (
	"slices"
	"sort"
	"time"
)

// Period is a date range prepared for classification: each day's working status and season,
// looked up once and shared by every staff member classified over it.
type Period struct {
	rules          *Rules
	summer, winter Season
	From, To       Date
	days           []day
}

type day struct {
	date    Date
	working bool
	season  *Season
}

// Period prepares the days from..to, both included. r must not change while the Period is used.
func (r *Rules) Period(from, to Date) *Period {
	p := &Period{rules: r, summer: r.Schedule.Summer, winter: r.Schedule.Winter, From: from, To: to}
	for d := from; d <= to; d++ {
		s := &p.winter
		if r.Schedule.IsSummer(d) {
			s = &p.summer
		}
		p.days = append(p.days, day{date: d, working: r.Working(d), season: s})
	}
	return p
}

// Rules returns the rules p was prepared with.
func (p *Period) Rules() *Rules { return p.rules }

// Segments is the number of working segments in p, the length of one staff member's results.
func (p *Period) Segments() int {
	n := 0
	for _, d := range p.days {
		if d.working {
			n += 2
		}
	}
	return n
}

// Classify appends to dst one Result per working segment of p for staff member st, in date and
// segment order (R6–R11, R18). Non-working days produce nothing (R5).
func Classify(p *Period, st Staff, in Inputs, dst []Result) []Result {
	ps := in.Punches
	if !slices.IsSortedFunc(ps, func(a, b Punch) int { return a.At.Compare(b.At) }) {
		ps = slices.Clone(ps)
		slices.SortStableFunc(ps, func(a, b Punch) int { return a.At.Compare(b.At) })
		in.Punches = ps
	}
	n := len(ps)
	start := int64(p.From) * 1440
	i := sort.Search(n, func(k int) bool { return wallMinute(ps[k].At) >= start })
	for di := range p.days {
		d := &p.days[di]
		base := int64(d.date) * 1440
		split, next := base+int64(d.season.Split()), base+1440
		for i < n && wallMinute(ps[i].At) < base {
			i++
		}
		j := i
		for j < n && wallMinute(ps[j].At) < split {
			j++
		}
		k := j
		for k < n && wallMinute(ps[k].At) < next {
			k++
		}
		if d.working {
			dst = append(dst, p.segment(st, &in, ps[i:j:j], d, AM), p.segment(st, &in, ps[j:k:k], d, PM))
		}
		i = k
	}
	return dst
}

// segment classifies one working segment. ps is the punches of its half of the day.
func (p *Period) segment(st Staff, in *Inputs, ps []Punch, d *day, seg Segment) Result {
	h := d.season.Hours(seg)
	base := int64(d.date) * 1440
	r := Result{StaffID: st.ID, Date: d.date, Segment: seg, SignIn: NoMinute, SignOut: NoMinute}
	ev := &r.Evidence
	ev.Punches, ev.In, ev.Out = ps, h.In, h.Out
	// R6: ps is sorted, so the first punch in the sign-in window is the earliest and the last in
	// the sign-out window the latest.
	for x := range ps {
		m := Minute(wallMinute(ps[x].At) - base)
		if r.SignIn == NoMinute && h.In.Contains(m) {
			r.SignIn, ev.SignIn = m, &ps[x]
		}
		if h.Out.Contains(m) {
			r.SignOut, ev.SignOut = m, &ps[x]
		}
	}
	start, end := base+int64(h.Start), base+int64(h.End)

	// R12, R13, R15, R16: leave.
	var excIn, excOut, unrec, full bool
	offPost := 0
	for x := range in.Leaves {
		l := &in.Leaves[x]
		lf, lt := wallMinute(l.From), wallMinute(l.To)
		if lf > end || lt < start {
			continue
		}
		ev.Leaves = append(ev.Leaves, l)
		if l.OffPost {
			if ref, ok := p.rules.firstSegment(lf, lt); ok && ref.Date == d.date && ref.Segment == seg {
				offPost++
			}
		}
		if !l.Recognised {
			unrec = true
			continue
		}
		// Both ends of a slip are included (R12): a slip ending at 12:00 covers the AM end.
		if lf <= start {
			excIn = true
		}
		if lt >= end {
			excOut = true
		}
		// Decision (R15): a temporary absence over an hour books the segments it shares
		// working time with, not one that it merely touches at an end.
		if l.HalfDay && lf < end && lt > start && !full {
			full, r.LeaveType = true, l.Type
		}
	}
	if !full && excIn && excOut {
		full, r.LeaveType = coveredByLeave(in.Leaves, start, end)
	}
	if full {
		// R12: a segment on leave has no other finding, but for the absence from a one-person
		// window without a substitute (R16, clarified in issue 15): the leave is recognised and
		// the window was left empty all the same.
		r.Findings = OnLeave
		if offPost > 0 {
			r.Findings |= OffPost
			r.OffPost = offPost
		}
		p.patrolEvidence(in, ev, start, end)
		p.failureEvidence(in, ev, d, h)
		return r
	}
	r.LeaveType = ""

	// R9: failure reports.
	exIn, exOut := p.failureEvidence(in, ev, d, h)

	// R10, R11: patrols.
	present := p.patrolEvidence(in, ev, start, end)
	for _, pt := range ev.Patrols {
		if pt.Present {
			continue
		}
		if n, ref, ok := p.rules.offPostMinutes(in.Leaves, wallMinute(pt.From), wallMinute(pt.To)); ok &&
			n >= p.rules.OffPostMinutes && ref.Date == d.date && ref.Segment == seg {
			offPost++
		}
	}

	missIn := r.SignIn == NoMinute && !excIn
	missOut := r.SignOut == NoMinute && !excOut
	exIn, exOut = exIn && missIn, exOut && missOut
	// R9: EXEMPT replaces what the missing punch would have caused.
	mIn, mOut := missIn && !exIn, missOut && !exOut
	var f Findings
	if exIn || exOut {
		f |= Exempt
	}
	switch {
	case unrec && (mIn || mOut):
		// R13: an unrecognised slip with a missing punch is ABSENT. Decision: ABSENT stands for
		// the segment, so the missing punches and lateness are not counted again beside it.
		f |= Absent | LeaveUnrecognised
	case mIn && mOut && !present:
		f |= Absent // R7: ABSENT alone.
	default:
		if unrec {
			f |= LeaveUnrecognised
		}
		if mIn {
			f |= MissingIn | Late // R7, R11
		} else if r.SignIn != NoMinute && !excIn && r.SignIn > h.Start {
			f |= Late
			r.LateMinutes = int(r.SignIn - h.Start)
		}
		if mOut {
			f |= MissingOut | Early
		} else if r.SignOut != NoMinute && !excOut && r.SignOut < h.End {
			f |= Early
			r.EarlyMinutes = int(h.End - r.SignOut)
		}
	}
	if offPost > 0 {
		f |= OffPost
		r.OffPost = offPost
	}
	r.Findings = f
	return r
}

// failureEvidence collects the failure reports overlapping a window of the segment and reports
// whether one made in time (R9) covers the sign-in and the sign-out window.
func (p *Period) failureEvidence(in *Inputs, ev *Evidence, d *day, h *Hours) (exIn, exOut bool) {
	base := int64(d.date) * 1440
	for x := range in.Failures {
		f := &in.Failures[x]
		ff, ft := wallMinute(f.From), wallMinute(f.To)
		inOv := ff <= base+int64(h.In.To) && ft >= base+int64(h.In.From)
		outOv := ff <= base+int64(h.Out.To) && ft >= base+int64(h.Out.From)
		if !inOv && !outOv {
			continue
		}
		ev.Failures = append(ev.Failures, f)
		if inOv && p.rules.FailureTimely(f.ReportedAt, d.date, h.In) {
			exIn = true
		}
		if outOv && p.rules.FailureTimely(f.ReportedAt, d.date, h.Out) {
			exOut = true
		}
	}
	return exIn, exOut
}

// patrolEvidence collects the patrol records overlapping the working hours and reports whether
// one saw the staff member present (R11).
func (p *Period) patrolEvidence(in *Inputs, ev *Evidence, start, end int64) (present bool) {
	for x := range in.Patrols {
		pt := &in.Patrols[x]
		if wallMinute(pt.From) > end || wallMinute(pt.To) < start {
			continue
		}
		ev.Patrols = append(ev.Patrols, pt)
		present = present || pt.Present
	}
	return present
}

// coveredByLeave reports whether the recognised slips together cover [start, end], and the type
// of the one covering the start. Decision (R12): adjoining slips (one ending at 10:00, the next
// starting at 10:00 or 10:01) cover together, since the article asks for a slip per absence, not
// one slip per segment.
func coveredByLeave(ls []Leave, start, end int64) (bool, string) {
	cur, typ := start, ""
	for {
		best := int64(-1 << 62)
		for x := range ls {
			l := &ls[x]
			if !l.Recognised {
				continue
			}
			lf, lt := wallMinute(l.From), wallMinute(l.To)
			if lf <= cur && lt > best {
				best = lt
			}
			if cur == start && typ == "" && lf <= start && lt >= start {
				typ = l.Type
			}
		}
		if best >= end {
			return true, typ
		}
		if best < cur {
			return false, ""
		}
		cur = best + 1
	}
}

// SegmentRef names one segment of one day.
type SegmentRef struct {
	Date    Date
	Segment Segment
}

// firstSegment is the first working segment whose working hours [lf, lt] overlaps, ends included.
func (r *Rules) firstSegment(lf, lt int64) (SegmentRef, bool) {
	for d := Date(floorDiv(lf, 1440)); int64(d)*1440 <= lt; d++ {
		if !r.Working(d) {
			continue
		}
		s := r.Schedule.SeasonOn(d)
		base := int64(d) * 1440
		for _, seg := range []Segment{AM, PM} {
			h := s.Hours(seg)
			if lf <= base+int64(h.End) && lt >= base+int64(h.Start) {
				return SegmentRef{d, seg}, true
			}
		}
	}
	return SegmentRef{}, false
}

// offPostMinutes measures an absence seen by a patrol from pf to pt (R10): the minutes of working
// hours on working days in [pf, pt) that no recognised slip covers, and the segment of the first
// such minute, where the episode is counted. Decision: time outside working hours (lunch, after
// hours) is not time away from the post.
func (r *Rules) offPostMinutes(ls []Leave, pf, pt int64) (int, SegmentRef, bool) {
	n, first, ok := 0, SegmentRef{}, false
	curDay, working := Date(-1<<31), false
	var s *Season
	for m := pf; m < pt; m++ {
		d := Date(floorDiv(m, 1440))
		if d != curDay {
			curDay, working, s = d, r.Working(d), r.Schedule.SeasonOn(d)
		}
		if !working {
			m = (int64(d)+1)*1440 - 1
			continue
		}
		mod := Minute(m - int64(d)*1440)
		var seg Segment
		switch {
		case mod >= s.AM.Start && mod < s.AM.End:
			seg = AM
		case mod >= s.PM.Start && mod < s.PM.End:
			seg = PM
		default:
			continue
		}
		covered := false
		for x := range ls {
			if ls[x].Recognised && wallMinute(ls[x].From) <= m && m < wallMinute(ls[x].To) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		if !ok {
			first, ok = SegmentRef{d, seg}, true
		}
		n++
	}
	return n, first, ok
}

// SegmentAt returns the working segment whose half of the day holds t, the one a punch at t can
// change; false on a day off.
func (r *Rules) SegmentAt(t time.Time) (SegmentRef, bool) {
	m := wallMinute(t)
	d := Date(floorDiv(m, 1440))
	if !r.Working(d) {
		return SegmentRef{}, false
	}
	if Minute(m-int64(d)*1440) < r.Schedule.SeasonOn(d).Split() {
		return SegmentRef{d, AM}, true
	}
	return SegmentRef{d, PM}, true
}

// SegmentsIn appends to dst every working segment whose half of the day overlaps [from, to], both
// ends included: the segments that a slip, a patrol record or a failure report with that range
// can change, and so the ones to recompute when it arrives or changes (R19).
func (r *Rules) SegmentsIn(from, to time.Time, dst []SegmentRef) []SegmentRef {
	f, t := wallMinute(from), wallMinute(to)
	for d := Date(floorDiv(f, 1440)); int64(d)*1440 <= t; d++ {
		if !r.Working(d) {
			continue
		}
		base := int64(d) * 1440
		split := base + int64(r.Schedule.SeasonOn(d).Split())
		if f < split && t >= base {
			dst = append(dst, SegmentRef{d, AM})
		}
		if f < base+1440 && t >= split {
			dst = append(dst, SegmentRef{d, PM})
		}
	}
	return dst
}
