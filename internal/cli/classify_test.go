package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/attendance"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func runC(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runClassify(context.Background(), attendance.DefaultRules(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestR18ClassifyGolden runs a whole month (September 2026: the Mid-Autumn holiday on Friday the
// 25th, the National Day make-up working day on Sunday the 20th, summer hours) for six staff in
// three windows, one of them single-staffed, through the command, in both formats.
func TestR18ClassifyGolden(t *testing.T) {
	dir := filepath.Join("testdata", "classify")
	for _, format := range []string{"json", "csv"} {
		code, out, errs := runC(t, "--staff", filepath.Join(dir, "staff.csv"), "--punches", filepath.Join(dir, "punches.csv"),
			"--leave", filepath.Join(dir, "leave.csv"), "--patrol", filepath.Join(dir, "patrol.csv"),
			"--failures", filepath.Join(dir, "failures.csv"), "--manual", filepath.Join(dir, "manual.csv"),
			"--config", "ignored.yaml", "--from", "2026-09-01", "--to", "2026-09-30", "--format", format)
		if code != 0 || errs != "" {
			t.Fatalf("%s: exit got %d (stderr %q), want 0", format, code, errs)
		}
		golden := filepath.Join(dir, "september-2026."+format)
		if *update {
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if out != string(want) {
			t.Errorf("%s output differs from %s (go test -update rewrites it; review the diff):\n%s", format, golden, firstDiff(out, string(want)))
		}
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + a + "\n want " + b
		}
	}
	return ""
}

// TestClassifyJSONShape checks one object against the contract's example, field for field.
func TestClassifyJSONShape(t *testing.T) {
	t.Chdir(t.TempDir())
	write(t, "staff.csv", "staff_id,name,window,unit\n1001,王芳,民政,民政局\n")
	write(t, "punches.csv", "staff_id,time\n1001,2026-07-06 08:42:00\n1001,2026-07-06 12:03:00\n")
	code, out, errs := runC(t, "--staff", "staff.csv", "--punches", "punches.csv", "--from", "2026-07-06", "--to", "2026-07-06")
	if code != 0 {
		t.Fatalf("exit got %d (%s), want 0", code, errs)
	}
	want := `[
{"staff_id": "1001", "date": "2026-07-06", "segment": "am", "findings": ["LATE"], "late_minutes": 12, "early_minutes": 0, "off_post": 0, "leave_type": "", "sign_in": "08:42", "sign_out": "12:03"},
{"staff_id": "1001", "date": "2026-07-06", "segment": "pm", "findings": ["ABSENT"], "late_minutes": 0, "early_minutes": 0, "off_post": 0, "leave_type": "", "sign_in": "", "sign_out": ""}
]
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	code, out, _ = runC(t, "--staff", "staff.csv", "--punches", "punches.csv", "--from", "2026-07-04", "--to", "2026-07-05")
	if code != 0 || out != "[]\n" {
		t.Errorf("a weekend: got %d %q, want 0 %q", code, out, "[]\n")
	}
	code, out, _ = runC(t, "--staff", "staff.csv", "--punches", "punches.csv", "--from", "2026-07-06", "--to", "2026-07-06", "--format", "csv")
	wantCSV := "staff_id,date,segment,findings,late_minutes,early_minutes,off_post,leave_type,sign_in,sign_out\n" +
		"1001,2026-07-06,am,LATE,12,0,0,,08:42,12:03\n1001,2026-07-06,pm,ABSENT,0,0,0,,,\n"
	if code != 0 || out != wantCSV {
		t.Errorf("csv: got %d\n%s\nwant\n%s", code, out, wantCSV)
	}
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestClassifyBadInput: every kind of bad input exits 2, prints every problem as FILE:LINE and
// prints no result.
func TestClassifyBadInput(t *testing.T) {
	const staff = "staff_id,name,window,unit\n1001,王芳,民政,民政局\n1002,李强,民政,民政局\n"
	const punches = "staff_id,time,device\n1001,2026-07-06 08:20:00,hall\n"
	tests := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"unknown staff id", map[string]string{"punches.csv": punches + "9999,2026-07-06 08:20:00,hall\n"}, nil,
			"punches.csv:3: unknown staff_id \"9999\": not in the staff file\n"},
		{"bad time", map[string]string{"punches.csv": punches + "1001,2026-07-06 8:20,hall\n1002,2026-02-30 08:00:00,hall\n"}, nil,
			"punches.csv:3: time: bad time \"2026-07-06 8:20\": want YYYY-MM-DD HH:MM:SS\n" +
				"punches.csv:4: time: bad time \"2026-02-30 08:00:00\": want YYYY-MM-DD HH:MM:SS\n"},
		{"unknown leave type and approval token", map[string]string{"leave.csv": "staff_id,type,start,end,filed_at,approvals\n" +
			"1001,vacation,2026-07-06 08:30:00,2026-07-06 12:00:00,2026-07-01 08:00:00,window_head;boss\n"}, []string{"--leave", "leave.csv"},
			"leave.csv:2: unknown leave type \"vacation\" (want personal, sick, marriage, funeral, maternity, annual, home_visit, meeting, study, temporary)\n" +
				"leave.csv:2: approvals: unknown approval token \"boss\" (want window_head, center_leader, unit_leader, unit_stamp, registered, phone_notice, substitute, hospital_cert, unit_cert, notice, study_cert)\n"},
		{"leave ending before it starts, bad phone notice", map[string]string{"leave.csv": "staff_id,type,start,end,filed_at,approvals\n" +
			"1001,sick,2026-07-06 12:00:00,2026-07-06 08:30:00,2026-07-01 08:00:00,phone_notice@soon\n"}, []string{"--leave", "leave.csv"},
			"leave.csv:2: end 2026-07-06 08:30:00 is before start 2026-07-06 12:00:00\n" +
				"leave.csv:2: approvals: bad phone notice time \"soon\": want phone_notice@YYYY-MM-DD HH:MM:SS\n"},
		{"missing column", map[string]string{"patrol.csv": "staff_id,from,to\n1001,2026-07-06 10:00:00,2026-07-06 10:30:00\n"}, []string{"--patrol", "patrol.csv"},
			"patrol.csv:1: missing column \"observation\" in the header (the header must name staff_id,from,to,observation)\n"},
		{"missing punches column", map[string]string{"punches.csv": "staff_id,when\n1001,2026-07-06 08:20:00\n"}, nil,
			"punches.csv:1: missing column \"time\" in the header (the header must name staff_id,time)\n"},
		{"bad observation", map[string]string{"patrol.csv": "staff_id,from,to,observation\n1002,2026-07-06 10:00:00,2026-07-06 10:30:00,asleep\n"}, []string{"--patrol", "patrol.csv"},
			"patrol.csv:2: observation \"asleep\" is neither present nor absent\n"},
		{"failure report for an unknown staff id", map[string]string{"failures.csv": "staff_id,from,to,reported_at\n" +
			"7,2026-07-06 08:00:00,2026-07-06 08:50:00,2026-07-06 09:00:00\n*,2026-07-06 08:00:00,2026-07-06 08:50:00,x\n"}, []string{"--failures", "failures.csv"},
			"failures.csv:2: unknown staff_id \"7\": not in the staff file\nfailures.csv:3: reported_at: bad time \"x\": want YYYY-MM-DD HH:MM:SS\n"},
		{"manual sign-in without reason", map[string]string{"manual.csv": "staff_id,time,reason,recorded_by\n1001,2026-07-06 08:25:00,,周敏\n"}, []string{"--manual", "manual.csv"},
			"manual.csv:2: reason is empty: a manual sign-in needs its reason\n"},
		{"duplicate staff id", map[string]string{"staff.csv": staff + "1001,王五,税务,税务局\n"}, nil,
			"staff.csv:4: staff_id \"1001\" is already on line 2\n"},
		{"to before from, and a bad file", map[string]string{"punches.csv": punches + "1003,2026-07-06 08:20:00,hall\n"}, []string{"--from", "2026-07-01", "--to", "2026-06-30"},
			"--to 2026-06-30 is before --from 2026-07-01\npunches.csv:3: unknown staff_id \"1003\": not in the staff file\n"},
		{"bad dates", nil, []string{"--from", "2026-7-1", "--to", "2026-07-32"},
			"--from: bad date \"2026-7-1\": want YYYY-MM-DD\n--to: bad date \"2026-07-32\": want YYYY-MM-DD\n"},
		{"missing file", nil, []string{"--leave", "nope.csv"}, "nope.csv: cannot read: no such file or directory\n"},
		{"problems in several files, in file and line order", map[string]string{
			"punches.csv": punches + "x,2026-07-06 08:20:00,hall\n1001,bad,hall\n",
			"leave.csv":   "staff_id,type,start,end,filed_at,approvals\n1002,sick,2026-07-06 08:30:00,2026-07-06 12:00:00,2026-07-01,\n"},
			[]string{"--leave", "leave.csv"},
			"leave.csv:2: filed_at: bad time \"2026-07-01\": want YYYY-MM-DD HH:MM:SS\n" +
				"punches.csv:3: unknown staff_id \"x\": not in the staff file\npunches.csv:4: time: bad time \"bad\": want YYYY-MM-DD HH:MM:SS\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			write(t, "staff.csv", staff)
			write(t, "punches.csv", punches)
			for name, content := range tt.files {
				write(t, name, content)
			}
			args := []string{"--staff", "staff.csv", "--punches", "punches.csv", "--from", "2026-07-06", "--to", "2026-07-06"}
			code, out, errs := runC(t, append(args, tt.args...)...)
			if code != 2 {
				t.Errorf("exit got %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout got %q, want no result", out)
			}
			if errs != tt.want {
				t.Errorf("stderr got\n%s\nwant\n%s", errs, tt.want)
			}
		})
	}
}

func TestClassifyUsage(t *testing.T) {
	code, out, _ := runC(t, "-h")
	if code != 0 || !strings.Contains(out, "usage: kaoqin classify") || !strings.Contains(out, "-punches") {
		t.Errorf("-h got %d %q, want 0 and the usage on stdout", code, out)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--staff", "s.csv"}, "kaoqin classify: --punches is required\n"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus\n"},
		{[]string{"--staff", "s", "--punches", "p", "--from", "2026-07-01", "--to", "2026-07-02", "--format", "xml"}, "kaoqin classify: --format \"xml\": want json or csv\n"},
		{[]string{"--staff", "s", "--punches", "p", "--from", "2026-07-01", "--to", "2026-07-02", "extra"}, "kaoqin classify: unexpected argument \"extra\"\n"},
	}
	for _, tt := range tests {
		code, out, errs := runC(t, tt.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, tt.want) || !strings.Contains(errs, "usage:") {
			t.Errorf("%v: got %d %q %q, want 2, no output, stderr starting %q and the usage", tt.args, code, out, errs, tt.want)
		}
	}
}

// TestClassifyHonoursRosterDates: the file path computes nothing outside a staff member's
// start_date and end_date, as the database path does (a newcomer is not ABSENT before joining).
func TestClassifyHonoursRosterDates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	staff := write("staff.csv", "staff_id,name,window,unit,start_date,end_date\n1001,甲,民政,民政局,2026-07-08,\n1002,乙,民政,民政局,,2026-07-07\n")
	punches := write("punches.csv", "staff_id,time\n")
	var out, errb bytes.Buffer
	code := runClassify(context.Background(), attendance.DefaultRules(), []string{"--staff", staff, "--punches", punches,
		"--from", "2026-07-06", "--to", "2026-07-09", "--format", "csv"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	days := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		f := strings.Split(line, ",")
		days[f[0]] = append(days[f[0]], f[1]+" "+f[2])
	}
	want := map[string]string{
		"1001": "2026-07-08 am,2026-07-08 pm,2026-07-09 am,2026-07-09 pm",
		"1002": "2026-07-06 am,2026-07-06 pm,2026-07-07 am,2026-07-07 pm",
	}
	for id, w := range want {
		if got := strings.Join(days[id], ","); got != w {
			t.Errorf("%s: got segments %s, want %s", id, got, w)
		}
	}
}
