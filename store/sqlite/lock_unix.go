//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// lockName is the lock file of a data directory.
const lockName = "gateway.lock"

// lockDir takes the data directory for this process: an exclusive flock on
// its lock file, which the kernel releases when the process ends however it
// ends, so a crash never leaves a stale lock. A second process gets
// store.ErrInUse at once instead of sharing (and corrupting) the data.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, fmt.Errorf("%w: %s is locked (%s); stop the other gateway or CLI command using it, or choose another --data-dir", store.ErrInUse, dir, path)
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
