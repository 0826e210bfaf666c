package cli

import (
	"context"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// BenchmarkReportMonthLargeCenter runs `kaoqin report month` end to end (read the files, classify,
// count, write) for 10,000 staff × July 2026 (the classify benchmark's files, ≈2.7 million
// punches), once per format, output to io.Discard.
//
// Targets: under 15 s and under 1 GB resident per format. Measured on the 2-core shared dev
// machine (go1.26, -benchtime 1x -cpu 1): xlsx 4.8 s / 410 MB (with the 考勤表 and the charts
// sheets since issue 18: 6.2 s / 305 MB under a load average of 12), csv 1.6 s / 215 MB, html 2.5 s /
// 309 MB, json 1.9 s / 313 MB (the classification itself is about 1.5 s of each). peak-RSS-MB is
// VmHWM reset through /proc/self/clear_refs before each format, so it is that format's high-water
// mark plus the test binary's baseline (the generated files are on disk, not in memory).
func BenchmarkReportMonthLargeCenter(b *testing.B) {
	dir := b.TempDir()
	writeLargeCenter(b, dir)
	files := []string{"--staff", filepath.Join(dir, "staff.csv"), "--punches", filepath.Join(dir, "punches.csv"),
		"--leave", filepath.Join(dir, "leave.csv"), "--patrol", filepath.Join(dir, "patrol.csv"),
		"--failures", filepath.Join(dir, "failures.csv")}
	for _, format := range []string{"xlsx", "csv", "html", "json"} {
		b.Run(format, func(b *testing.B) {
			args := append([]string{"--month", "2026-07", "--format", format}, files...)
			debug.FreeOSMemory()
			resetPeakRSS()
			for b.Loop() {
				var errb strings.Builder
				e := &env{stdout: io.Discard, stderr: &errb}
				if code := runReportMonth(context.Background(), e, args); code != 0 {
					b.Fatalf("exit %d: %s", code, errb.String())
				}
			}
			if rss := peakRSS(); rss > 0 {
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
			}
		})
	}
}
