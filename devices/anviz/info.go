package anviz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// DeviceInfo is the reply to CmdDeviceInfo. The 3-byte communication password the clock also
// sends is left out on purpose: this value is printed and logged.
type DeviceInfo struct {
	Firmware       string
	Sleep          int
	Volume         int
	Language       int
	DateFormat     int
	State          int
	Flag           int
	CommandVersion int
}

const deviceInfoLen = 18

// DecodeDeviceInfo decodes the DATA of a CmdDeviceInfo reply.
func DecodeDeviceInfo(d []byte) (DeviceInfo, error) {
	if len(d) < deviceInfoLen {
		return DeviceInfo{}, shortData(CmdDeviceInfo, len(d), deviceInfoLen)
	}
	return DeviceInfo{
		Firmware:       asciiField(d[0:8]),
		Sleep:          int(d[11]),
		Volume:         int(d[12]),
		Language:       int(d[13]),
		DateFormat:     int(d[14]),
		State:          int(d[15]),
		Flag:           int(d[16]),
		CommandVersion: int(d[17]),
	}, nil
}

// EncodeDeviceInfo is the inverse of DecodeDeviceInfo, with a zero password; the emulator uses it.
func EncodeDeviceInfo(i DeviceInfo) []byte {
	d := make([]byte, deviceInfoLen)
	copy(d[0:8], i.Firmware)
	for j, v := range []int{i.Sleep, i.Volume, i.Language, i.DateFormat, i.State, i.Flag, i.CommandVersion} {
		d[11+j] = byte(v)
	}
	return d
}

// RecordInfo is the reply to CmdRecordInfo: what the clock holds.
type RecordInfo struct {
	Users, Fingerprints, Passwords, Cards int
	AllRecords, NewRecords                int
}

// DecodeRecordInfo decodes the DATA of a CmdRecordInfo reply.
func DecodeRecordInfo(d []byte) (RecordInfo, error) {
	if len(d) < 18 {
		return RecordInfo{}, shortData(CmdRecordInfo, len(d), 18)
	}
	return RecordInfo{
		Users: u24(d[0:]), Fingerprints: u24(d[3:]), Passwords: u24(d[6:]), Cards: u24(d[9:]),
		AllRecords: u24(d[12:]), NewRecords: u24(d[15:]),
	}, nil
}

// EncodeRecordInfo is the inverse of DecodeRecordInfo.
func EncodeRecordInfo(i RecordInfo) []byte {
	var d []byte
	for _, v := range []int{i.Users, i.Fingerprints, i.Passwords, i.Cards, i.AllRecords, i.NewRecords} {
		d = appendU24(d, v)
	}
	return d
}

// Capacity is the reply to CmdCapacity: what the clock can hold.
type Capacity struct {
	Users, Fingerprints, Records int
}

// DecodeCapacity decodes the DATA of a CmdCapacity reply.
func DecodeCapacity(d []byte) (Capacity, error) {
	if len(d) < 9 {
		return Capacity{}, shortData(CmdCapacity, len(d), 9)
	}
	return Capacity{Users: u24(d[0:]), Fingerprints: u24(d[3:]), Records: u24(d[6:])}, nil
}

// EncodeCapacity is the inverse of DecodeCapacity.
func EncodeCapacity(c Capacity) []byte {
	return appendU24(appendU24(appendU24(nil, c.Users), c.Fingerprints), c.Records)
}

// DecodeTime decodes the 6-byte clock time (year-2000, month, day, hour, minute, second) as a
// wall-clock time.
func DecodeTime(d []byte) (time.Time, error) {
	if len(d) < 6 {
		return time.Time{}, shortData(CmdGetTime, len(d), 6)
	}
	if d[1] < 1 || d[1] > 12 || d[2] < 1 || d[2] > 31 || d[3] > 23 || d[4] > 59 || d[5] > 59 {
		return time.Time{}, fmt.Errorf("anviz: clock time % x is not a valid date and time", d[:6])
	}
	return time.Date(2000+int(d[0]), time.Month(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), 0, time.UTC), nil
}

// EncodeTime encodes t's fields, read in t's own location, as the 6-byte clock time. Passing a
// wall-clock time (time.UTC) or a time in the clock's zone both give the intended display.
func EncodeTime(t time.Time) ([]byte, error) {
	if t.Year() < 2000 || t.Year() > 2255 {
		return nil, fmt.Errorf("anviz: year %d does not fit the clock (2000–2255)", t.Year())
	}
	return []byte{byte(t.Year() - 2000), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())}, nil
}

// DecodeSerialNumber decodes the 16-byte ASCII serial number, trimming its padding.
func DecodeSerialNumber(d []byte) string { return asciiField(d) }

// DecodeDeviceID decodes the 4-byte BE communication device id.
func DecodeDeviceID(d []byte) (uint32, error) {
	if len(d) < 4 {
		return 0, shortData(CmdDeviceID, len(d), 4)
	}
	return binary.BigEndian.Uint32(d), nil
}

func asciiField(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

func shortData(cmd byte, got, want int) error {
	return fmt.Errorf("anviz: reply to %02X: %d data bytes, want %d", cmd, got, want)
}

func u24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

func appendU24(d []byte, v int) []byte { return append(d, byte(v>>16), byte(v>>8), byte(v)) }
