package pty

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpenPassesBytesUnmodified(t *testing.T) {
	master, slavePath, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()

	// Every byte value, with the ones a cooked terminal would change (CR, LF, ^C, ^D, DEL, XON/XOFF).
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name     string
		from, to *os.File
	}{
		{"master to slave", master, slave},
		{"slave to master", slave, master},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.from.Write(all); err != nil {
				t.Fatal(err)
			}
			tt.to.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, len(all))
			if _, err := io.ReadFull(tt.to, got); err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, all) {
				t.Errorf("got %x, want %x", got, all)
			}
		})
	}
	// No echo: nothing the master wrote may come back to the master.
	master.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := master.Read(make([]byte, 1)); n != 0 {
		t.Errorf("got an echoed byte, want none")
	}
}

func TestOpenRaw(t *testing.T) {
	master, slavePath, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	fd, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  bool
	}{
		{"ECHO off", tio.Lflag&unix.ECHO == 0},
		{"ICANON off", tio.Lflag&unix.ICANON == 0},
		{"ISIG off", tio.Lflag&unix.ISIG == 0},
		{"ICRNL off", tio.Iflag&unix.ICRNL == 0},
		{"IXON off", tio.Iflag&unix.IXON == 0},
		{"OPOST off", tio.Oflag&unix.OPOST == 0},
		{"CS8", tio.Cflag&unix.CSIZE == unix.CS8},
	}
	for _, c := range checks {
		if !c.got {
			t.Errorf("%s: got false, want true", c.name)
		}
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	master, slavePath, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	done := make(chan error, 1)
	go func() {
		_, err := master.Read(make([]byte, 1))
		done <- err
	}()
	master.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("got nil error from a read on a closed master, want one")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read on the master still blocked 5 s after Close")
	}
}
