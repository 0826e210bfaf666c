// Package pty opens pseudo-terminal pairs on Linux, so that serial-line code (the Anviz client
// over github.com/tarm/serial) can be tested against an emulator through a real terminal device
// rather than a pipe that skips termios, VMIN/VTIME and the line discipline.
package pty

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens a new pseudo-terminal pair and returns its master side and the path of its slave
// (/dev/pts/N). The slave is left in raw mode, so the bytes of a binary protocol pass unmodified:
// no echo, no CR/LF mapping, no signals, 8-bit clean.
//
// The master is non-blocking and registered with the runtime poller, so its read deadlines work
// and Close unblocks a pending Read.
//
// Linux returns EIO on master reads while no process holds the slave open. A caller that serves
// the master before a client opens the slave (or between clients) should keep a slave descriptor
// open itself, as the Anviz emulator does.
func Open() (master *os.File, slavePath string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", fmt.Errorf("pty: open /dev/ptmx: %w", err)
	}
	fail := func(err error) (*os.File, string, error) {
		unix.Close(fd)
		return nil, "", err
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("pty: TIOCGPTN: %w", err))
	}
	// The slave stays locked until unlocked; this is what unlockpt(3) does.
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("pty: TIOCSPTLCK: %w", err))
	}
	slavePath = fmt.Sprintf("/dev/pts/%d", n)
	if err := makeRaw(slavePath); err != nil {
		return fail(err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), slavePath, nil
}

// makeRaw sets the slave's termios to raw. The settings belong to the terminal, not to the
// descriptor, so they outlive the short-lived descriptor opened here.
func makeRaw(path string) error {
	sfd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("pty: open %s: %w", path, err)
	}
	defer unix.Close(sfd)
	t, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("pty: TCGETS %s: %w", path, err)
	}
	MakeRaw(t)
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("pty: TCSETS %s: %w", path, err)
	}
	return nil
}

// MakeRaw changes t as cfmakeraw(3) does.
func MakeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}
