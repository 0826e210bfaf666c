// Package demo owns the scenario `kaoqin demo` plays: a center of about 80 staff in 12 windows of
// 6 units, a month of their behaviour (punches on time, late, early, forgotten, a clock failure
// reported in time and one not reported, leave slips recognised and not, patrols that find
// someone off post), and — worked out from the plan alone, not by the engine — what the monthly
// report must say about each staff member. The demo's test compares the two.
package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Month is the month the demo plays: October 2026 has the National Day holidays (1–7 October)
// and an official make-up working day on Saturday 10 October.
const Month = "2026-10"

// Clock is one emulated clock of the demo.
type Clock struct {
	Name      string
	Protocol  string // zk, anviz, zk-push
	Transport string // tcp, udp, serial, http
	CommKey   int
	DeviceID  int // anviz bus id
}

// Clocks are the demo's clocks: three ZKTeco (TCP, UDP, TCP with a comm key), two Anviz on one
// RS485 bus, and a ZKTeco PUSH clock.
var Clocks = []Clock{
	{Name: "大厅东-ZK", Protocol: "zk", Transport: "tcp"},
	{Name: "大厅西-ZK", Protocol: "zk", Transport: "udp"},
	{Name: "二楼-ZK", Protocol: "zk", Transport: "tcp", CommKey: 20261},
	{Name: "三楼-Anviz1", Protocol: "anviz", Transport: "serial", DeviceID: 1},
	{Name: "三楼-Anviz2", Protocol: "anviz", Transport: "serial", DeviceID: 2},
	{Name: "综合窗口-PUSH", Protocol: "zk-push", Transport: "http"},
}

// Staff is one member of the demo roster.
type Staff struct {
	ID, Name, Window, Unit string
	Clock                  string // the clock they punch on
	UserID                 string // their user id on it
	WindowSize             int
}

type windowDef struct {
	name, unit string
	size       int
	clock      int // index into Clocks
}

var windows = []windowDef{
	{"婚姻登记", "民政局", 1, 3},
	{"社会救助", "民政局", 8, 3},
	{"社保业务", "人社局", 9, 0},
	{"就业服务", "人社局", 8, 0},
	{"企业登记", "市场监管局", 7, 1},
	{"食品许可", "市场监管局", 1, 1},
	{"户籍办理", "公安局", 9, 2},
	{"出入境", "公安局", 8, 2},
	{"税务综合", "税务局", 9, 4},
	{"发票领用", "税务局", 1, 4},
	{"不动产登记", "不动产登记中心", 9, 5},
	{"抵押登记", "不动产登记中心", 10, 0},
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董")
	given    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "志强", "晓燕", "海燕", "小红"}
)

// Punch is one punch played into a clock.
type Punch struct {
	Clock  string
	UserID string
	Time   time.Time // wall clock
}

// Slip is a leave slip entered on the day it was filed.
type Slip struct {
	StaffID, Type string
	Start, End    time.Time
	FiledAt       time.Time
	Approvals     string
	Recognised    bool // what the rules make of it (R12–R17), for the expected report
}

// Patrol is a patrol record.
type Patrol struct {
	StaffID  string
	From, To time.Time
	Present  bool
}

// Failure is a clock failure report.
type Failure struct {
	Clock      string
	From, To   time.Time
	ReportedAt time.Time
}

// Expect is what the monthly report must say about one staff member.
type Expect struct {
	Late, LateMinutes   int
	Early, EarlyMinutes int
	MissingPunches      int
	AbsentSegments      int
	OffPost             int
	LeaveSegments       map[string]int // by leave type
	Exempt              int
	UnrecognisedSlips   int
	SegmentsDue         int
}

// Day is one working day of the scenario.
type Day struct {
	Date     time.Time // midnight, wall clock
	Punches  []Punch
	Slips    []Slip
	Patrols  []Patrol
	Failures []Failure
}

// Scenario is the whole month.
type Scenario struct {
	Staff  []Staff
	Days   []Day // every calendar day of the month, in order (holidays carry nothing)
	Expect map[string]*Expect
}

// Punches returns every punch of the month.
func (s *Scenario) Punches() []Punch {
	var out []Punch
	for _, d := range s.Days {
		out = append(out, d.Punches...)
	}
	return out
}

// working tells the days of October 2026 the official calendar makes working days: Monday to
// Friday except the National Day holidays (1–7 October), plus the make-up Saturday 10 October.
func working(d time.Time) bool {
	if d.Day() >= 1 && d.Day() <= 7 {
		return false
	}
	if d.Day() == 10 {
		return true
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// plan is what a staff member does in one segment.
type plan struct {
	kind     string // normal, late, early, missing_in, missing_out, absent, exempt_in, missing_out_unreported, leave, unrecognised, rescued
	minutes  int
	stray    bool
	leave    string
	offPost  bool
	patrolOK bool
}

// Winter hours (October): AM 08:30–12:00, PM 14:00–17:30, windows per rules.md R2.
var (
	amIn, amOut = [2]int{8*60 + 0, 8*60 + 50}, [2]int{11*60 + 40, 12*60 + 10}
	pmIn, pmOut = [2]int{13*60 + 30, 14*60 + 20}, [2]int{17*60 + 10, 17*60 + 40}
	start       = [2]int{8*60 + 30, 14 * 60}
	end         = [2]int{12 * 60, 17*60 + 30}
)

// Generate builds the scenario; the same seed gives the same month.
func Generate(seed uint64) *Scenario {
	rng := rand.New(rand.NewPCG(seed, 2026))
	sc := &Scenario{Expect: map[string]*Expect{}}
	n := 0
	for _, w := range windows {
		for i := 0; i < w.size; i++ {
			n++
			name := string(surnames[(n*7)%len(surnames)]) + given[(n*11)%len(given)]
			st := Staff{ID: fmt.Sprintf("S%03d", n), Name: name, Window: w.name, Unit: w.unit,
				Clock: Clocks[w.clock].Name, UserID: fmt.Sprint(1000 + n), WindowSize: w.size}
			sc.Staff = append(sc.Staff, st)
			sc.Expect[st.ID] = &Expect{LeaveSegments: map[string]int{}}
		}
	}
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	plans := map[string]map[int][2]plan{} // staff → day → [am, pm]
	for _, st := range sc.Staff {
		plans[st.ID] = map[int][2]plan{}
	}
	// Ordinary behaviour: mostly on time, now and then late, early, a forgotten punch, a stray
	// punch before the window opens, rarely a half day away without a word.
	for d := first; d.Month() == time.October; d = d.AddDate(0, 0, 1) {
		if !working(d) {
			continue
		}
		for _, st := range sc.Staff {
			var p [2]plan
			for seg := 0; seg < 2; seg++ {
				r := rng.Float64()
				switch {
				case r < 0.04:
					p[seg] = plan{kind: "late", minutes: 1 + rng.IntN(20)}
				case r < 0.06:
					p[seg] = plan{kind: "early", minutes: 1 + rng.IntN(20)}
				case r < 0.07:
					p[seg] = plan{kind: "missing_in"}
				case r < 0.08:
					p[seg] = plan{kind: "missing_out"}
				case r < 0.083:
					p[seg] = plan{kind: "absent"}
				default:
					p[seg] = plan{kind: "normal", stray: rng.Float64() < 0.02}
				}
			}
			plans[st.ID][d.Day()] = p
		}
	}
	set := func(id string, day, seg int, p plan) {
		ps := plans[id][day]
		ps[seg] = p
		plans[id][day] = ps
	}
	at := func(day, minute int) time.Time {
		return first.AddDate(0, 0, day-1).Add(time.Duration(minute) * time.Minute)
	}
	days := map[int]*Day{}
	for d := first; d.Month() == time.October; d = d.AddDate(0, 0, 1) {
		days[d.Day()] = &Day{Date: d}
	}
	byClock := func(clock string) []Staff {
		var out []Staff
		for _, st := range sc.Staff {
			if st.Clock == clock {
				out = append(out, st)
			}
		}
		return out
	}

	// 14 October: 大厅西-ZK cannot read fingers 07:30–09:00; it is reported at 09:15 (in time, R9):
	// every missing morning sign-in on it is EXEMPT.
	for _, st := range byClock(Clocks[1].Name) {
		set(st.ID, 14, 0, plan{kind: "exempt_in"})
	}
	days[14].Failures = append(days[14].Failures, Failure{Clock: Clocks[1].Name, From: at(14, 7*60+30), To: at(14, 9*60), ReportedAt: at(14, 9*60+15)})
	// 21 October: 二楼-ZK is dead during the afternoon sign-out window and nobody reports it: the
	// missing sign-outs count as usual (MISSING_OUT, EARLY 0).
	for _, st := range byClock(Clocks[2].Name) {
		set(st.ID, 21, 1, plan{kind: "missing_out"})
	}
	// Multi-staff windows' people for leave and patrols (single-staff windows need substitutes, R16).
	var many []Staff
	for _, st := range sc.Staff {
		if st.WindowSize > 1 {
			many = append(many, st)
		}
	}
	pick := func(i int) Staff { return many[(i*13)%len(many)] }

	// Recognised leave (R12–R15): filed in advance with the approvals its duration needs.
	a := pick(1) // a full day of sick leave on 15 October
	set(a.ID, 15, 0, plan{kind: "leave", leave: "sick"})
	set(a.ID, 15, 1, plan{kind: "leave", leave: "sick"})
	days[14].Slips = append(days[14].Slips, Slip{StaffID: a.ID, Type: "sick", Start: at(15, 8*60+30), End: at(15, 17*60+30),
		FiledAt: at(14, 16*60), Approvals: "window_head;center_leader", Recognised: true})
	b := pick(2) // two days of annual leave, 19–20 October
	for _, d := range []int{19, 20} {
		set(b.ID, d, 0, plan{kind: "leave", leave: "annual"})
		set(b.ID, d, 1, plan{kind: "leave", leave: "annual"})
	}
	days[16].Slips = append(days[16].Slips, Slip{StaffID: b.ID, Type: "annual", Start: at(19, 8*60+30), End: at(20, 17*60+30),
		FiledAt: at(16, 10*60), Approvals: "window_head;unit_leader;unit_stamp;center_leader", Recognised: true})
	c := pick(3) // a morning of personal leave on 22 October
	set(c.ID, 22, 0, plan{kind: "leave", leave: "personal"})
	days[21].Slips = append(days[21].Slips, Slip{StaffID: c.ID, Type: "personal", Start: at(22, 8*60+30), End: at(22, 12*60),
		FiledAt: at(21, 15*60), Approvals: "window_head;center_leader", Recognised: true})

	// Unrecognised leave (R13, R14): filed after the fact, or without the approvals it needs; the
	// segments it overlaps with missing punches are ABSENT.
	d := pick(4) // afternoon of 23 October, slip filed on the 26th
	set(d.ID, 23, 1, plan{kind: "unrecognised"})
	days[26].Slips = append(days[26].Slips, Slip{StaffID: d.ID, Type: "personal", Start: at(23, 14*60), End: at(23, 17*60+30),
		FiledAt: at(26, 9*60), Approvals: "window_head;center_leader", Recognised: false})
	e := pick(5) // sick on 27 October, filed the day before but without the center leader's signature
	set(e.ID, 27, 0, plan{kind: "unrecognised"})
	set(e.ID, 27, 1, plan{kind: "unrecognised"})
	days[26].Slips = append(days[26].Slips, Slip{StaffID: e.ID, Type: "sick", Start: at(27, 8*60+30), End: at(27, 17*60+30),
		FiledAt: at(26, 11*60), Approvals: "window_head", Recognised: false})

	// Patrols (R10, R11).
	for i, p := range []struct{ day, seg, from, minutes int }{{13, 0, 10 * 60, 30}, {28, 1, 15 * 60, 25}} {
		st := pick(6 + i)
		pl := plans[st.ID][p.day][p.seg]
		pl = plan{kind: "normal", offPost: true}
		set(st.ID, p.day, p.seg, pl)
		days[p.day].Patrols = append(days[p.day].Patrols, Patrol{StaffID: st.ID, From: at(p.day, p.from), To: at(p.day, p.from+p.minutes)})
	}
	short := pick(8) // away for 10 minutes: under 20, not off post
	set(short.ID, 13, 0, plan{kind: "normal"})
	days[13].Patrols = append(days[13].Patrols, Patrol{StaffID: short.ID, From: at(13, 10*60), To: at(13, 10*60+10)})
	seen := pick(9) // forgot both punches on 29 October morning, but a patrol saw them at the window
	set(seen.ID, 29, 0, plan{kind: "rescued"})
	days[29].Patrols = append(days[29].Patrols, Patrol{StaffID: seen.ID, From: at(29, 9*60+30), To: at(29, 9*60+35), Present: true})
	for i := 0; i < 12; i++ { // routine patrols that find people at their posts
		st := pick(20 + i)
		day := 8 + (i*3)%23
		if !working(at(day, 0)) {
			continue
		}
		if p := plans[st.ID][day][0]; p.kind == "normal" && !p.offPost {
			days[day].Patrols = append(days[day].Patrols, Patrol{StaffID: st.ID, From: at(day, 10*60+i), To: at(day, 10*60+i+5), Present: true})
		}
	}

	// Punches and the expected report, from the plans alone.
	for _, st := range sc.Staff {
		ex := sc.Expect[st.ID]
		for day := 1; day <= 31; day++ {
			p, ok := plans[st.ID][day]
			if !ok {
				continue
			}
			ex.SegmentsDue += 2
			for seg := 0; seg < 2; seg++ {
				in, out := amIn, amOut
				if seg == 1 {
					in, out = pmIn, pmOut
				}
				punch := func(minute, second int) {
					days[day].Punches = append(days[day].Punches, Punch{Clock: st.Clock, UserID: st.UserID,
						Time: at(day, minute).Add(time.Duration(second) * time.Second)})
				}
				onTimeIn := func() { punch(in[0]+5+rng.IntN(start[seg]-in[0]-5), rng.IntN(60)) }
				onTimeOut := func() { punch(end[seg]+rng.IntN(out[1]-end[seg]-1), rng.IntN(60)) }
				pl := p[seg]
				switch pl.kind {
				case "normal":
					if pl.stray {
						punch(in[0]-3, 10) // before the window opens: evidence only (R8)
					}
					onTimeIn()
					onTimeOut()
				case "late":
					punch(start[seg]+pl.minutes, rng.IntN(60))
					onTimeOut()
					ex.Late++
					ex.LateMinutes += pl.minutes
				case "early":
					onTimeIn()
					punch(end[seg]-pl.minutes, rng.IntN(60))
					ex.Early++
					ex.EarlyMinutes += pl.minutes
				case "missing_in":
					onTimeOut()
					ex.Late++
					ex.MissingPunches++
				case "missing_out":
					onTimeIn()
					ex.Early++
					ex.MissingPunches++
				case "absent":
					ex.AbsentSegments++
				case "exempt_in":
					onTimeOut()
					ex.Exempt++
				case "leave":
					ex.LeaveSegments[pl.leave]++
				case "unrecognised":
					ex.AbsentSegments++
				case "rescued":
					ex.Late++
					ex.Early++
					ex.MissingPunches += 2
				}
				if pl.offPost {
					ex.OffPost++
				}
			}
		}
	}
	for _, d := range days {
		for _, s := range d.Slips {
			if !s.Recognised {
				sc.Expect[s.StaffID].UnrecognisedSlips++
			}
		}
	}
	keys := make([]int, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		dd := days[k]
		sort.Slice(dd.Punches, func(i, j int) bool { return dd.Punches[i].Time.Before(dd.Punches[j].Time) })
		sc.Days = append(sc.Days, *dd)
	}
	return sc
}
