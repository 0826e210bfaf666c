package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/kaoqin/kaoqin/attendance"
)

// BenchmarkClassifyLargeCenter runs `kaoqin classify` end to end on 10,000 staff × 31 days
// (July 2026, ≈2.7 million punches, with leave, patrol and failure files), generated
// deterministically in a temporary directory, JSON to io.Discard.
//
// Targets: under 10 s and under 1 GB resident. Measured on the 2-core shared dev machine
// (go1.26, -cpu 1): about 2.0 s per run, peak RSS about 180 MB, heap-sys about 165 MB.
// "peak-RSS-MB" is the process's VmHWM from /proc/self/status, reset through /proc/self/clear_refs
// after the input files were generated and the heap returned to the OS, so it is the high-water
// mark of the classify runs plus the test binary's baseline; "heap-sys-MB" is
// runtime.MemStats.HeapSys afterwards, the Go heap's address space, as a cross-check where /proc
// is not available. Memory stays low because punches are streamed from the file into 16-byte
// records per staff member and results are written staff by staff.
func BenchmarkClassifyLargeCenter(b *testing.B) {
	dir := b.TempDir()
	nPunch := writeLargeCenter(b, dir)
	args := []string{"--staff", filepath.Join(dir, "staff.csv"), "--punches", filepath.Join(dir, "punches.csv"),
		"--leave", filepath.Join(dir, "leave.csv"), "--patrol", filepath.Join(dir, "patrol.csv"),
		"--failures", filepath.Join(dir, "failures.csv"), "--from", "2026-07-01", "--to", "2026-07-31"}
	rules := attendance.DefaultRules()
	debug.FreeOSMemory()
	resetPeakRSS()
	for b.Loop() {
		var errb strings.Builder
		if code := runClassify(context.Background(), rules, args, io.Discard, &errb); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	}
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(nPunch), "punches")
}

// writeLargeCenter writes the benchmark's input files and returns the number of punches.
func writeLargeCenter(b *testing.B, dir string) int {
	b.Helper()
	const staff = 10000
	create := func(name string) (*os.File, *bufio.Writer) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return f, bufio.NewWriterSize(f, 1<<20)
	}
	closeAll := func(f *os.File, w *bufio.Writer) {
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	id := func(i int) string { return strconv.Itoa(100000 + i) }
	f, w := create("staff.csv")
	w.WriteString("staff_id,name,window,unit\n")
	for i := 0; i < staff; i++ {
		// Windows of three, and every 50th staff member alone at a window.
		win := "w" + strconv.Itoa(i/3)
		if i%50 == 0 {
			win = "single" + strconv.Itoa(i)
		}
		fmt.Fprintf(w, "%s,staff %d,%s,unit%d\n", id(i), i, win, i%40)
	}
	closeAll(f, w)

	f, w = create("punches.csv")
	w.WriteString("staff_id,time,device\n")
	n := 0
	r := attendance.DefaultRules()
	for d := attendance.MakeDate(2026, 7, 1); d <= attendance.MakeDate(2026, 7, 31); d++ {
		ds := d.String()
		work := r.Working(d)
		for i := 0; i < staff; i++ {
			v := (i*7 + int(d)*3) % 9
			// 4 punches in the windows, each punched twice, and on working days a stray.
			clocks := [...]string{"08:1%d:%02d", "12:0%d:%02d", "14:2%d:%02d", "18:0%d:%02d"}
			if work {
				fmt.Fprintf(w, "%s,%s 07:55:%02d,hall\n", id(i), ds, v)
				n++
			}
			for _, c := range clocks {
				for k := 0; k < 2; k++ {
					w.WriteString(id(i))
					w.WriteByte(',')
					w.WriteString(ds)
					fmt.Fprintf(w, " "+c+",hall\n", v%10, (v*11+k)%60)
					n++
				}
			}
		}
	}
	closeAll(f, w)

	f, w = create("leave.csv")
	w.WriteString("staff_id,type,start,end,filed_at,approvals\n")
	for i := 0; i < staff; i += 5 {
		fmt.Fprintf(w, "%s,personal,2026-07-%02d 08:30:00,2026-07-%02d 18:00:00,2026-06-30 09:00:00,window_head;center_leader\n", id(i), 6+i%20, 6+i%20)
	}
	closeAll(f, w)
	f, w = create("patrol.csv")
	w.WriteString("staff_id,from,to,observation\n")
	for i := 0; i < staff; i += 10 {
		fmt.Fprintf(w, "%s,2026-07-%02d 10:00:00,2026-07-%02d 10:25:00,absent\n", id(i), 6+i%20, 6+i%20)
	}
	closeAll(f, w)
	f, w = create("failures.csv")
	w.WriteString("staff_id,from,to,reported_at\n")
	for i := 0; i < staff; i += 100 {
		fmt.Fprintf(w, "%s,2026-07-07 08:00:00,2026-07-07 08:50:00,2026-07-07 09:00:00\n", id(i))
	}
	w.WriteString("*,2026-07-15 17:30:00,2026-07-15 18:30:00,2026-07-15 17:35:00\n")
	closeAll(f, w)
	return n
}

// resetPeakRSS resets the kernel's high-water mark of this process's resident set (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes, or 0 where /proc is not available.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
