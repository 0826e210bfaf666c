package zkemu_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/kaoqin/kaoqin/devices/zk"
	"github.com/kaoqin/kaoqin/devices/zk/zkemu"
)

// An operator's emulator: a clock on both transports of port 4370 with a comm key, a log loaded
// from CSV, serving until interrupted.
func Example_standalone() {
	clock, err := zkemu.New(zkemu.Config{
		SerialNumber: "DEMO0001",
		CommKey:      123,
		Users:        []zk.User{{UID: 1, UserID: "1001", Name: "张三"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer clock.Close()
	punches := "user_id,time\n1001,2024-03-04 08:59:07\n1001,2024-03-04 18:02:41\n"
	if err := clock.LoadPunchesCSV(strings.NewReader(punches)); err != nil {
		log.Fatal(err)
	}
	for _, listen := range []func(string) (net.Addr, error){clock.ListenTCP, clock.ListenUDP} {
		addr, err := listen(":4370")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("serving on", addr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// A punch every minute, sent to subscribed clients as a realtime event.
			clock.AddPunch("1001", clock.Now(), 1, 0)
		}
	}
}
