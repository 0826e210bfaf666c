package anviz_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kaoqin/kaoqin/devices/anviz"
	"github.com/kaoqin/kaoqin/devices/anviz/anvizemu"
)

// countLink counts the bytes moved both ways.
type countLink struct {
	anviz.Link
	n int
}

func (l *countLink) Read(b []byte) (int, error) {
	n, err := l.Link.Read(b)
	l.n += n
	return n, err
}

func (l *countLink) Write(b []byte) (int, error) {
	n, err := l.Link.Write(b)
	l.n += n
	return n, err
}

// BenchmarkReadNew9600 reads 1,000 new records (record info, 40 packets, clear) through a
// pseudo-terminal from an emulator paced at 9600 baud, 960 bytes/s.
//
// Target: at most 1.1× the line time of the bytes moved both ways.
// Measured: 1.012× and 1.019× (15.8 s and 15.95 s for 15,027 bytes, whose line time is 15.65 s)
// on 2 cores shared with other builds (load average about 5), Go 1.26.
// Run: go test ./devices/anviz -run '^$' -bench ReadNew9600 -benchtime 1x
func BenchmarkReadNew9600(b *testing.B) {
	const baud, records = 9600, 1000
	e := newEmulator(b, anvizemu.Config{Baud: baud}, 1)
	path, err := e.ServePTY()
	if err != nil {
		b.Fatal(err)
	}
	port, err := anviz.OpenSerialPort(anviz.SerialOptions{Port: path, Baud: baud})
	if err != nil {
		b.Fatal(err)
	}
	link := &countLink{Link: port}
	bus := anviz.NewBus(link, anviz.Options{})
	defer bus.Close()
	c := bus.Clock(1)
	ctx := context.Background()
	var elapsed time.Duration
	var moved int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		punch(b, e, 1, 10000, records)
		link.n = 0
		b.StartTimer()
		start := time.Now()
		n, err := c.ReadNew(ctx, func([]anviz.Record) error { return nil })
		elapsed += time.Since(start)
		moved += link.n
		if err != nil || n != records {
			b.Fatalf("ReadNew = %d, %v; want %d, nil", n, err, records)
		}
	}
	line := time.Duration(float64(moved) / (baud / 10) * float64(time.Second))
	b.ReportMetric(float64(elapsed)/float64(line), "x-line-time")
	b.ReportMetric(float64(moved)/float64(b.N), "bytes/op")
	if r := float64(elapsed) / float64(line); r > 1.1 {
		b.Errorf("%v for %d bytes whose line time is %v: %.3f×, target 1.1×", elapsed, moved, line, r)
	}
}

// BenchmarkDecodeRecords decodes full 25-record download packets on one core.
//
// Target: at least 5 million records/s.
// Measured: 10–22 million records/s (1.1–2.5 µs per 25-record packet, one allocation per packet)
// on 2 cores shared with other builds (load average 1–5), Go 1.26; 6.5 million before the user
// ids of a packet shared one string.
func BenchmarkDecodeRecords(b *testing.B) {
	pkt := []byte{anviz.MaxRecordsPerPacket}
	for i := range anviz.MaxRecordsPerPacket {
		var err error
		pkt, err = anviz.AppendRecord(pkt, anviz.Record{UserID: fmt.Sprint(10000 + i*37), Time: day.Add(time.Duration(i) * time.Minute), State: i % 6}, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
	}
	dst := make([]anviz.Record, 0, anviz.MaxRecordsPerPacket)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = anviz.DecodeRecords(dst[:0], pkt, true, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(b.N*anviz.MaxRecordsPerPacket) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "records/s")
	if b.Elapsed() > 100*time.Millisecond && rate < 5e6 { // a run of a few loops measures start-up
		b.Errorf("%.0f records/s, target 5,000,000", rate)
	}
}
