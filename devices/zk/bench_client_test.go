package zk_test

import (
	"testing"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

func benchmarkRead(b *testing.B, network string) {
	const n = 100000
	clock, addr := newClock(b, zkemu.Config{RecordCapacity: n})
	addPunches(b, clock, n)
	c := dial(b, network, addr[network], zk.Options{})
	ctx := ctxT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		recs, err := c.Attendance(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != n {
			b.Fatalf("got %d records, want %d", len(recs), n)
		}
	}
}

// BenchmarkAttendanceTCP100k reads 100,000 40-byte records from the emulator over loopback TCP
// (B/op counts the emulator's allocations too: both run in this process).
// Target: < 1 s and < 64 MB allocated per full read. Measured: 66–75 ms and 39.7 MB/op
// (979 allocs/op), emulator included, -cpu 1 on a shared 2-core VM.
func BenchmarkAttendanceTCP100k(b *testing.B) { benchmarkRead(b, "tcp") }

// BenchmarkAttendanceUDP100k reads the same log over loopback UDP (16 KiB chunks).
// Target: < 3 s per full read. Measured: 96–107 ms and 39.0 MB/op (3249 allocs/op), emulator
// included, -cpu 1 on a shared 2-core VM.
func BenchmarkAttendanceUDP100k(b *testing.B) { benchmarkRead(b, "udp") }
