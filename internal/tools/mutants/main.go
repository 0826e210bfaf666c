// Command mutants breaks the product on purpose, one break at a time, in a scratch copy of the
// repository's HEAD, and checks that the tests aimed at each break fail. It prints a table:
// break → the tests that caught it, or NOT CAUGHT. Each break is a text patch whose pattern
// must occur exactly once: when a refactor moves the code, the break reports "pattern not
// found" (and the run fails) instead of passing as caught. Run it with .ci/mutants.
//
// The tests run as CI runs them: set KAOQIN_TEST_MYSQL_DSN (and have promtool, soffice, chromium)
// for the breaks whose tests need them, or those tests skip and the break is not caught.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// patch replaces old, which must occur exactly once in file, with new.
type patch struct {
	file, old, new string
}

// mutant is one break and the tests that must catch it.
type mutant struct {
	name    string
	patches []patch
	// tests are "package regexp" pairs: go test -run regexp package.
	tests []string
}

var mutants = []mutant{
	{
		name: "Anviz marks cleared before the punches are stored",
		patches: []patch{
			{"devices/anviz/client.go", "\tif err := store(recs); err != nil {\n",
				"\tif err := c.clearMarks(ctx, len(recs)); err != nil {\n\t\treturn 0, err\n\t}\n\tif err := store(recs); err != nil {\n"},
			{"devices/anviz/client.go", "return len(recs), c.clearMarks(ctx, len(recs))", "return len(recs), nil"},
		},
		tests: []string{"./internal/cli ^TestCrashAtFaultPoints$", "./ingest ^(TestMariaDBKilled.*|TestDatabaseOutageLosesNothing)$"},
	},
	{
		name: "anvizConn.Pull ignores the error of the store callback",
		patches: []patch{
			{"ingest/source.go", "\t\tif err := save(ctx, out, nil); err != nil {\n\t\t\treturn err\n\t\t}\n", "\t\tsave(ctx, out, nil)\n"},
		},
		tests: []string{"./internal/cli ^TestCrashAtFaultPoints$", "./ingest ^(TestMariaDBKilled.*|TestDatabaseOutageLosesNothing)$"},
	},
	{
		name: "ZKTeco cursor committed in its own transaction before the punches",
		patches: []patch{
			{"internal/store/punches.go", "\tnow := s.nowWall()\n\terr := s.withTx(ctx, func(tx *sqlx.Tx) error {\n\t\tres = InsertResult{}\n",
				"\tif cursor != nil {\n\t\tif err := s.SaveCursor(ctx, *cursor); err != nil {\n\t\t\treturn res, err\n\t\t}\n\t\tcursor = nil\n\t}\n" +
					"\tnow := s.nowWall()\n\terr := s.withTx(ctx, func(tx *sqlx.Tx) error {\n\t\tres = InsertResult{}\n"},
		},
		tests: []string{"./internal/cli ^TestCrashAtFaultPoints$", "./ingest ^TestMariaDBKilled.*$"},
	},
	{
		name: "cursor anchor check removed (a cleared-and-refilled log read as new)",
		patches: []patch{
			{"ingest/source.go", "if a.UserID == cur.AnchorUser && store.WallString(a.Time) == cur.AnchorAt {", "if _ = a; true {"},
		},
		tests: []string{"./internal/cli ^TestCrashAtFaultPoints$"},
	},
	{
		name: "today page drops one staff member in the middle of a window",
		patches: []patch{
			{"internal/web/today.go", "\t\t\tds := &w.Staff[i]\n", "\t\t\tif len(w.Staff) > 2 && i == len(w.Staff)/2 {\n\t\t\t\tcontinue\n\t\t\t}\n\t\t\tds := &w.Staff[i]\n"},
		},
		tests: []string{"./internal/web " + webNotBrowser, "./internal/web ^TestBrowser$"},
	},
	{
		name: "web XLSX download is an empty workbook",
		patches: []patch{
			{"internal/web/month.go", "\t\terr = rep.WriteXLSX(&buf)\n", "\t\terr = reports.BuildMonth(&reports.MonthInput{Month: in.Month}).WriteXLSX(&buf)\n"},
		},
		tests: []string{"./internal/web " + webNotBrowser, "./internal/web ^TestBrowser$"},
	},
	{
		name: "demo writes report files with no results",
		patches: []patch{
			{"internal/cli/demo.go", "\trep := reports.BuildMonth(in)\n\tif err := os.MkdirAll(d.outDir, 0o750); err != nil {\n",
				"\tin.Results = nil\n\trep := reports.BuildMonth(in)\n\tif err := os.MkdirAll(d.outDir, 0o750); err != nil {\n"},
		},
		tests: []string{"./internal/cli ^TestDemoReportMatchesWhatWasPlayed$"},
	},
	{
		name: "metric kaoqin_clock_read_interval_seconds renamed",
		patches: []patch{
			{"ingest/metrics.go", `Name: "kaoqin_clock_read_interval_seconds"`, `Name: "kaoqin_clock_read_period_seconds"`},
		},
		tests: []string{"./internal/cli ^TestAlertRulesReadExportedSeries$", "./ingest ^TestAlertRules$"},
	},
	{
		name: "metric kaoqin_schedule_punch_window_open renamed",
		patches: []patch{
			{"ingest/metrics.go", `Name: "kaoqin_schedule_punch_window_open"`, `Name: "kaoqin_schedule_window_open"`},
		},
		tests: []string{"./internal/cli ^TestAlertRulesReadExportedSeries$", "./ingest ^TestAlertRules$"},
	},
	{
		name: "csvio Parse broken",
		patches: []patch{
			{"internal/csvio/csvio.go", "func Parse(file string, data []byte, required ...string) (*Table, error) {\n",
				"func Parse(file string, data []byte, required ...string) (*Table, error) {\n\tif len(data) > 0 {\n\t\treturn nil, fmt.Errorf(\"%s: mutant: parse broken\", file)\n\t}\n"},
		},
		tests: []string{"./internal/csvio ."},
	},
}

// webNotBrowser matches every web test but the browser test, so that each group's baseline
// stands on its own.
const webNotBrowser = "^Test([^B]|B[^r])"

type result struct {
	name, verdict, by string
}

func main() {
	only := flag.String("only", "", "run only the breaks whose name matches this `regexp`")
	timeout := flag.Duration("timeout", 20*time.Minute, "bound on the tests of one break")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants: -only:", err)
		os.Exit(2)
	}
	os.Exit(run(ctx, re, *timeout))
}

func run(ctx context.Context, only *regexp.Regexp, timeout time.Duration) int {
	top, err := output(ctx, "", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants: not in a git work tree:", err)
		return 2
	}
	top = strings.TrimSpace(top)
	scratch, err := os.MkdirTemp("", "kaoqin-mutants-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		return 2
	}
	defer os.RemoveAll(scratch)
	// HEAD, not the work tree: what is committed is what is judged, whatever is half-edited.
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive HEAD | tar -x -C "$2"`, "sh", top, scratch)
	if out, err := archive.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "mutants: copying HEAD: %v\n%s", err, out)
		return 2
	}
	rev, _ := output(ctx, top, "git", "rev-parse", "--short", "HEAD")
	fmt.Printf("mutants of %s in %s (KAOQIN_TEST_MYSQL_DSN %s)\n\n", strings.TrimSpace(rev), scratch, setOrNot("KAOQIN_TEST_MYSQL_DSN"))

	baseline := map[string]string{} // test group → "" when it passes unbroken, else why not
	var results []result
	for _, m := range mutants {
		if !only.MatchString(m.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "mutants: %s\n", m.name)
		results = append(results, try(ctx, scratch, m, baseline, timeout))
	}
	fmt.Println("| break made on purpose | result | caught by |")
	fmt.Println("|---|---|---|")
	bad := 0
	for _, r := range results {
		fmt.Printf("| %s | %s | %s |\n", r.name, r.verdict, r.by)
		if r.verdict != "caught" {
			bad++
		}
	}
	if bad > 0 {
		fmt.Printf("\n%d of %d breaks not caught\n", bad, len(results))
		return 1
	}
	return 0
}

func try(ctx context.Context, dir string, m mutant, baseline map[string]string, timeout time.Duration) result {
	r := result{name: m.name}
	// The tests must pass on the unbroken copy, or failing on the broken one proves nothing: a
	// group failing unbroken is left out (and named if nothing else catches the break).
	var groups, unknown []string
	for _, tg := range m.tests {
		if _, ok := baseline[tg]; !ok {
			failed, out, err := goTest(ctx, dir, tg, timeout)
			switch {
			case err != nil:
				baseline[tg] = "cannot run: " + err.Error()
			case len(failed) > 0:
				baseline[tg] = "fails unbroken: " + strings.Join(failed, ", ")
				fmt.Fprintf(os.Stderr, "%s\n", tail(out, 40))
			default:
				baseline[tg] = ""
			}
		}
		if why := baseline[tg]; why != "" {
			unknown = append(unknown, tg+" "+why)
			continue
		}
		groups = append(groups, tg)
	}
	if len(groups) == 0 {
		r.verdict, r.by = "unknown", strings.Join(unknown, "; ")
		return r
	}
	originals := map[string][]byte{}
	defer func() {
		for f, b := range originals {
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
	}()
	for _, p := range m.patches {
		path := filepath.Join(dir, p.file)
		b, err := os.ReadFile(path)
		if err != nil {
			r.verdict, r.by = "pattern not found", err.Error()
			return r
		}
		if _, ok := originals[p.file]; !ok {
			originals[p.file] = b
		}
		if n := bytes.Count(b, []byte(p.old)); n != 1 {
			r.verdict, r.by = "pattern not found", fmt.Sprintf("%s: %q occurs %d times, want 1", p.file, firstLine(p.old), n)
			return r
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(p.old), []byte(p.new), 1), 0o644); err != nil {
			r.verdict, r.by = "cannot patch", err.Error()
			return r
		}
	}
	if out, err := output(ctx, dir, "go", "vet", "./..."); err != nil {
		r.verdict, r.by = "does not compile", tail(out, 5)
		return r
	}
	var caught []string
	for _, tg := range groups {
		failed, out, err := goTest(ctx, dir, tg, timeout)
		if err != nil {
			r.verdict, r.by = "cannot run", tg+": "+err.Error()
			return r
		}
		if len(failed) == 0 && strings.Contains(out, "--- SKIP") {
			fmt.Fprintf(os.Stderr, "mutants: %s: tests skipped:\n%s\n", tg, grep(out, "--- SKIP", 10))
		}
		for _, f := range failed {
			caught = append(caught, strings.Fields(tg)[0]+" "+f)
		}
	}
	if len(caught) == 0 {
		r.verdict, r.by = "NOT CAUGHT", "passed: "+strings.Join(groups, "; ")
		if len(unknown) > 0 {
			r.verdict, r.by = "unknown", r.by+"; not run: "+strings.Join(unknown, "; ")
		}
		return r
	}
	r.verdict, r.by = "caught", strings.Join(caught, ", ")
	return r
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// goTest runs one "package regexp" group and returns the failed tests (top level and subtests);
// err is set only when go test could not run them at all.
func goTest(ctx context.Context, dir, group string, timeout time.Duration) (failed []string, out string, err error) {
	f := strings.Fields(group)
	if len(f) != 2 {
		return nil, "", fmt.Errorf("test group %q: want \"package regexp\"", group)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-failfast", "-timeout", timeout.String(), "-run", f[1], f[0])
	cmd.Dir = dir
	b, runErr := cmd.CombinedOutput()
	out = string(b)
	seen := map[string]bool{}
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			failed = append(failed, m[1])
		}
	}
	sort.Strings(failed)
	// A parent fails with its subtest: name the subtest only.
	leaves := failed[:0]
	for i, f := range failed {
		if i+1 < len(failed) && strings.HasPrefix(failed[i+1], f+"/") {
			continue
		}
		leaves = append(leaves, f)
	}
	failed = leaves
	if runErr != nil && len(failed) == 0 {
		// A failure that names no test: a build error, a panic, a timeout. Counted as a failure
		// only if go test says the package failed for a reason other than the build.
		if strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]") {
			return nil, out, fmt.Errorf("build failed:\n%s", tail(out, 10))
		}
		failed = []string{"(package failed: " + firstLine(grep(out, "panic:|FAIL|timed out", 1)) + ")"}
	}
	return failed, out, nil
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func setOrNot(env string) string {
	if os.Getenv(env) != "" {
		return "set"
	}
	return "not set: the MariaDB tests skip"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func grep(s, pattern string, n int) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if re.MatchString(line) && len(out) < n {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
