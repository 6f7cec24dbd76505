// Package log builds the zap loggers every service uses and holds the field
// constructors, so the same thing is always logged under the same key.
package log

import (
	"fmt"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config selects the log level and format.
type Config struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is "json" (production) or "console" (people).
	Format string
}

// New builds the root logger for a process; components take Named children.
func New(cfg Config) (*zap.Logger, error) {
	lvl := zapcore.InfoLevel
	if cfg.Level != "" {
		if err := lvl.UnmarshalText([]byte(cfg.Level)); err != nil {
			return nil, fmt.Errorf("log level %q: %w", cfg.Level, err)
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch cfg.Format {
	case "", "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log format %q: want json or console", cfg.Format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), lvl)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)), nil
}

// Nop returns a logger that discards everything, for tests and benchmarks.
func Nop() *zap.Logger { return zap.NewNop() }
