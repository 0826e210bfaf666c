package anviz

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRC16(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint16 // as a number; the wire carries the low byte first
	}{
		// Verified against bytes recorded from a real device (spec §2): CRC bytes 78 c1.
		{"verified device-id request", "a5 00 00 00 01 ff 00 00 00", 0xC178},
		// CRC-16/MCRF4XX check value over "123456789".
		{"catalogue check", hex.EncodeToString([]byte("123456789")), 0x6F91},
		{"empty", "", 0xFFFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CRC16(unhex(t, tt.in)); got != tt.want {
				t.Errorf("CRC16(%s) = %04X, want %04X", tt.in, got, tt.want)
			}
		})
	}
}

// The verified vector is 9 bytes before its CRC, so it is a response header: device 1, ACK FF (the
// clock's keep-alive, command 7F), RET 00, LEN 0.
func TestAppendResponseVerifiedVector(t *testing.T) {
	got, err := AppendResponse(nil, Response{DeviceID: 1, Cmd: 0x7F})
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "a5 00 00 00 01 ff 00 00 00 78 c1"); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

// frameCases are shared by the table tests and as fuzz seeds.
var frameCases = []struct {
	name string
	hex  string
	want Response
	err  error
}{
	{"time reply", "a5 00000001 b8 00 0006 180615 0a1e05 ????", Response{DeviceID: 1, Cmd: 0x38, Data: []byte{24, 6, 21, 10, 30, 5}}, nil},
	{"empty RET", "a5 00000002 c0 05 0000 ????", Response{DeviceID: 2, Cmd: 0x40, Ret: RetEmpty, Data: []byte{}}, nil},
	{"bad CRC", "a5 00000001 b8 00 0000 0000", Response{}, ErrCRC},
	{"short header", "a5 000000", Response{}, ErrShort},
	{"short body", "a5 00000001 b8 00 0006 1806", Response{}, ErrShort},
	{"no STX", "5a 00000001 b8 00 0000 ????", Response{}, ErrSTX},
	{"LEN over 400", "a5 00000001 b8 00 0191", Response{}, ErrTooLong},
	{"not a reply", "a5 00000001 38 00 0000 ????", Response{}, ErrNotReply},
}

// frameBytes fills a "????" placeholder with the frame's correct CRC.
func frameBytes(t testing.TB, s string) []byte {
	s = strings.ReplaceAll(s, " ", "")
	if body, ok := strings.CutSuffix(s, "????"); ok {
		b := unhex(t, body)
		return appendCRC(b, 0)
	}
	return unhex(t, s)
}

func TestDecodeResponse(t *testing.T) {
	for _, tt := range frameCases {
		t.Run(tt.name, func(t *testing.T) {
			b := frameBytes(t, tt.hex)
			got, n, err := DecodeResponse(b)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if n != len(b) {
				t.Errorf("n = %d, want %d", n, len(b))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			again, err := AppendResponse(nil, got)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("re-encoded % x (%v), want % x", again, err, b)
			}
		})
	}
}

func TestCommandRoundTrip(t *testing.T) {
	tests := []Command{
		{DeviceID: 1, Cmd: CmdRecordInfo},
		{DeviceID: 0xFFFFFFFF, Cmd: CmdDownload, Data: []byte{DownloadNew, 25}},
		{DeviceID: 7, Cmd: CmdClear, Data: []byte{ClearMarks, 0, 3, 0xE8}},
		{DeviceID: 7, Cmd: 0x99, Data: bytes.Repeat([]byte{0xA5}, MaxData)},
	}
	for _, c := range tests {
		b, err := AppendCommand(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := DecodeCommand(b)
		if err != nil || n != len(b) {
			t.Fatalf("DecodeCommand(% x) = %d, %v; want %d, nil", b, n, err, len(b))
		}
		if got.DeviceID != c.DeviceID || got.Cmd != c.Cmd || !bytes.Equal(got.Data, c.Data) {
			t.Errorf("got %+v, want %+v", got, c)
		}
	}
	if _, err := AppendCommand(nil, Command{Data: make([]byte, MaxData+1)}); err == nil {
		t.Errorf("AppendCommand with %d data bytes: got nil error, want one", MaxData+1)
	}
}

func TestRetError(t *testing.T) {
	tests := []struct {
		ret  byte
		is   error
		text string
	}{
		{RetEmpty, ErrEmpty, "anviz: command 40: RET 05 (empty)"},
		{RetFail, ErrFail, "anviz: command 40: RET 01 (operation failed)"},
		{0x7E, nil, "anviz: command 40: RET 7E"},
	}
	for _, tt := range tests {
		err := Response{Cmd: CmdDownload, Ret: tt.ret}.Err()
		if got := err.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
		if tt.is != nil && !errors.Is(fmt.Errorf("wrapped: %w", err), tt.is) {
			t.Errorf("errors.Is(RET %02X, %v) = false, want true", tt.ret, tt.is)
		}
		if tt.is != ErrFull && errors.Is(err, ErrFull) {
			t.Errorf("errors.Is(RET %02X, ErrFull) = true, want false", tt.ret)
		}
		var re *RetError
		if !errors.As(err, &re) || re.Ret != tt.ret || re.Cmd != CmdDownload {
			t.Errorf("errors.As: got %+v, want RET %02X on 40", re, tt.ret)
		}
	}
}

var recordCases = []Record{
	{UserID: "1", Time: DefaultEpoch},
	{UserID: "10042", Time: time.Date(2025, 3, 14, 8, 59, 7, 0, time.UTC), Backup: 0, State: 0},
	{UserID: "10042", Time: time.Date(2025, 3, 14, 18, 1, 0, 0, time.UTC), Backup: 3, State: 1, Door: true, WorkCode: 0x123456},
	{UserID: "1099511627775", Time: time.Date(2136, 2, 8, 6, 28, 15, 0, time.UTC), Backup: 2, State: 15, WorkCode: 0xFFFFFF},
}

// TestRecordLayoutGolden pins the 14-byte layout: 5-byte BE user code, 4-byte BE seconds from the
// epoch, backup code, record type (bit 7 door, low 4 bits state), 3-byte work code.
func TestRecordLayoutGolden(t *testing.T) {
	var out strings.Builder
	for _, r := range recordCases {
		b, err := AppendRecord(nil, r, DefaultEpoch)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRecord(b, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got != r {
			t.Errorf("round trip: got %+v, want %+v", got, r)
		}
		fmt.Fprintf(&out, "% x  user=%s time=%s backup=%d state=%d door=%t workcode=%d\n",
			b, got.UserID, got.Time.Format(time.DateTime), got.Backup, got.State, got.Door, got.WorkCode)
	}
	golden := filepath.Join("testdata", "records.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRecordEpochPerModel(t *testing.T) {
	b := unhex(t, "0000002711 00000e10 00 01 000000") // user 10001, 3600 s
	tests := []struct {
		epoch time.Time
		want  time.Time
	}{
		{time.Time{}, time.Date(2000, 1, 2, 1, 0, 0, 0, time.UTC)},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 1, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := DecodeRecord(b, tt.epoch)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(tt.want) || got.Time.Location() != time.UTC || got.UserID != "10001" || got.State != 1 {
			t.Errorf("epoch %v: got %+v, want time %v user 10001 state 1", tt.epoch, got, tt.want)
		}
	}
}

func TestAppendRecordRejects(t *testing.T) {
	tests := []struct {
		name string
		r    Record
	}{
		{"user id not a number", Record{UserID: "A12", Time: DefaultEpoch}},
		{"user id too large", Record{UserID: "1099511627776", Time: DefaultEpoch}},
		{"before the epoch", Record{UserID: "1", Time: DefaultEpoch.Add(-time.Second)}},
		{"state over 4 bits", Record{UserID: "1", Time: DefaultEpoch, State: 16}},
	}
	for _, tt := range tests {
		if _, err := AppendRecord(nil, tt.r, time.Time{}); err == nil {
			t.Errorf("%s: got nil error, want one", tt.name)
		}
	}
}

func TestDecodeRecordsCount(t *testing.T) {
	one, _ := AppendRecord(nil, recordCases[1], time.Time{})
	tests := []struct {
		name    string
		data    []byte
		counted bool
		want    int
		wantErr bool
	}{
		{"counted one", append([]byte{1}, one...), true, 1, false},
		{"counted zero", []byte{0}, true, 0, false},
		{"count says two", append([]byte{2}, one...), true, 0, true},
		{"no count byte", nil, true, 0, true},
		{"realtime one", one, false, 1, false},
		{"realtime short", one[:13], false, 0, true},
	}
	for _, tt := range tests {
		got, err := DecodeRecords(nil, tt.data, tt.counted, time.Time{})
		if (err != nil) != tt.wantErr || len(got) != tt.want {
			t.Errorf("%s: got %d records, err %v; want %d, error %t", tt.name, len(got), err, tt.want, tt.wantErr)
		}
	}
}

func TestTimeCodec(t *testing.T) {
	want := time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)
	b, err := EncodeTime(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, []byte{24, 2, 29, 23, 59, 58}) {
		t.Errorf("EncodeTime = % x, want 18 02 1d 17 3b 3a", b)
	}
	got, err := DecodeTime(b)
	if err != nil || !got.Equal(want) {
		t.Errorf("DecodeTime = %v, %v; want %v", got, err, want)
	}
	if _, err := DecodeTime([]byte{24, 13, 1, 0, 0, 0}); err == nil {
		t.Errorf("DecodeTime(month 13): got nil error, want one")
	}
}
