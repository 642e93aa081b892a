//go:build tools

// Package tools records the metrics pipeline's main package so `go mod tidy` keeps its graph.
package tools

import (
	_ "sigs.k8s.io/prometheus-adapter/cmd/adapter"
)
