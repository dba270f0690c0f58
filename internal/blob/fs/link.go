package fs

import "os"

// linkThenUnlink publishes tmp as name with a hard link, which never replaces an existing file,
// then removes tmp. It reports whether tmp is gone.
func linkThenUnlink(root *os.Root, shard, tmp, name string) (bool, error) {
	if err := root.Link(shard+"/"+tmp, shard+"/"+name); err != nil {
		return false, err
	}
	return root.Remove(shard+"/"+tmp) == nil, nil
}
