package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sync"
)

var (
	stdout   sync.Mutex
	stdoutTo io.Writer = os.Stdout
)

// printLine writes one "envoy-stand-in: <compact JSON>" line to stdout; the e2e suite reads
// them from the container's log.
func printLine(v any) {
	var buf bytes.Buffer
	buf.WriteString("envoy-stand-in: ")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		logf("encoding %T: %v", v, err)
		return
	}
	stdout.Lock()
	defer stdout.Unlock()
	_, _ = stdoutTo.Write(buf.Bytes())
}

func printError(err error) {
	printLine(struct {
		Error string `json:"error"`
	}{err.Error()})
}
