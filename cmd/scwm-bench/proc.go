package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ: the unit of utime and stime in /proc/<pid>/stat on
// Linux.
const clockTicks = 100

// rss is the gateway's memory: peak (VmHWM) and current (VmRSS).
type rss struct {
	PID       int   `json:"pid"`
	PeakBytes int64 `json:"peakBytes"`
	RSSBytes  int64 `json:"rssBytes"`
}

// readRSS reads the memory of process pid from /proc/<pid>/status.
func readRSS(pid int) (*rss, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("read the gateway's RSS: %w", err)
	}
	defer f.Close()
	r := &rss{PID: pid}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmHWM" {
			r.PeakBytes = kb << 10
		} else {
			r.RSSBytes = kb << 10
		}
	}
	if r.PeakBytes == 0 {
		return nil, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return r, nil
}

// readCPU is the user and system CPU time process pid has used, from
// /proc/<pid>/stat.
func readCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no process")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
