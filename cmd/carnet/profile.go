package main

import (
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a pprof CPU profile of this process to path until stop is called
// (the --cpuprofile of the commands that measure). An empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
