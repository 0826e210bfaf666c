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
// Target: < 1 s and < 64 MB allocated per full read. Measured: MEASURED_TCP.
func BenchmarkAttendanceTCP100k(b *testing.B) { benchmarkRead(b, "tcp") }

// BenchmarkAttendanceUDP100k reads the same log over loopback UDP (16 KiB chunks).
// Target: < 3 s per full read. Measured: MEASURED_UDP.
func BenchmarkAttendanceUDP100k(b *testing.B) { benchmarkRead(b, "udp") }
