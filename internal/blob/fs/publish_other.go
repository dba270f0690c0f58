//go:build !linux

package fs

import "os"

// publish moves the temporary file tmp of the shard directory to name, failing with an error
// matching fs.ErrExist if name exists, by a hard link then an unlink. It reports whether tmp is
// gone; if not, the caller removes it.
func publish(root *os.Root, _ *os.File, shard, tmp, name string) (bool, error) {
	return linkThenUnlink(root, shard, tmp, name)
}
