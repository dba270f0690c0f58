package fs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// publish moves the temporary file tmp of the directory dir (the shard shard of root) to name,
// failing with an error matching fs.ErrExist if name exists. It reports whether tmp is gone; if
// not, the caller removes it (the blob, when published, is then a second link to the same file).
//
// It uses renameat2 with RENAME_NOREPLACE, atomic on the filesystems that support it (ext4,
// xfs, btrfs, tmpfs...), and falls back to link then unlink elsewhere.
func publish(root *os.Root, dir *os.File, shard, tmp, name string) (bool, error) {
	fd := int(dir.Fd())
	err := unix.Renameat2(fd, tmp, fd, name, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return linkThenUnlink(root, shard, tmp, name)
	}
	return false, &os.LinkError{Op: "renameat2", Old: tmp, New: name, Err: err}
}
