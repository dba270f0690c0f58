package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/carnet-sante/carnet"
)

// ReadKeyFile reads a master key file. It refuses a file that others than its owner may read.
func ReadKeyFile(path string) (*MasterKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &carnet.Error{Code: carnet.EKEY, Op: "keys.ReadKeyFile", Message: fmt.Sprintf("fichier de clé maîtresse introuvable : %s", path), Err: err}
		}
		return nil, carnet.WrapErr("keys.ReadKeyFile", carnet.EKEY, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, carnet.Errorf(carnet.EKEY, "le fichier de clé maîtresse %s est lisible par d'autres que son propriétaire (%04o) : chmod 600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, carnet.WrapErr("keys.ReadKeyFile", carnet.EKEY, err)
	}
	k, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, carnet.Errorf(carnet.EKEY, "fichier de clé maîtresse %s : %s", path, carnet.ErrorMessage(err))
	}
	return k, nil
}

// CreateKeyFile writes k to a new file with mode 0600, durably. It never overwrites: an
// existing file is an error.
func CreateKeyFile(path string, k *MasterKey) error {
	const op = "keys.CreateKeyFile"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return carnet.WrapErr(op, carnet.EKEY, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return carnet.Errorf(carnet.EKEY, "le fichier de clé %s existe déjà : il n'est jamais écrasé", path)
		}
		return carnet.WrapErr(op, carnet.EKEY, err)
	}
	_, err = f.WriteString(k.Encode() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return carnet.WrapErr(op, carnet.EKEY, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return carnet.WrapErr("keys.syncDir", carnet.EKEY, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return carnet.WrapErr("keys.syncDir", carnet.EKEY, err)
	}
	return nil
}

// Source says where the master key comes from.
type Source struct {
	File    string // key file path (the default source)
	Env     string // CARNET_MASTER_KEY: a base64 key, overrides File
	EnvNext string // CARNET_MASTER_KEY_NEXT: a new key being rotated in; wraps new keys
}

// NextFile is where a rotation keeps the new key until it is complete.
func NextFile(path string) string { return path + ".next" }

// Load builds the keyring. With Env set, the key comes from it (and EnvNext, if set, becomes the
// current key). Otherwise the key file is read; an interrupted rotation's ".next" file is loaded
// too and becomes current. If there is no key file and mayCreate is true, a new key is created;
// if mayCreate is false (the database already holds encrypted data), a missing key is an error,
// never silently replaced. It returns whether a key file was created.
func Load(src Source, mayCreate bool) (*Keyring, bool, error) {
	if strings.TrimSpace(src.Env) != "" {
		cur, err := ParseMasterKey(src.Env)
		if err != nil {
			return nil, false, carnet.Errorf(carnet.EKEY, "CARNET_MASTER_KEY : %s", carnet.ErrorMessage(err))
		}
		if strings.TrimSpace(src.EnvNext) == "" {
			return NewKeyring(cur), false, nil
		}
		next, err := ParseMasterKey(src.EnvNext)
		if err != nil {
			return nil, false, carnet.Errorf(carnet.EKEY, "CARNET_MASTER_KEY_NEXT : %s", carnet.ErrorMessage(err))
		}
		return NewKeyring(next, cur), false, nil
	}
	if src.File == "" {
		return nil, false, carnet.Errorf(carnet.EKEY, "aucune clé maîtresse configurée (fichier ou CARNET_MASTER_KEY)")
	}
	var next *MasterKey
	if _, err := os.Stat(NextFile(src.File)); err == nil {
		if next, err = ReadKeyFile(NextFile(src.File)); err != nil {
			return nil, false, err
		}
	}
	cur, err := ReadKeyFile(src.File)
	switch {
	case err == nil:
		if next != nil {
			return NewKeyring(next, cur), false, nil
		}
		return NewKeyring(cur), false, nil
	case next != nil:
		// The rotation renamed the old file away but not yet the new one into place.
		return NewKeyring(next), false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	case !mayCreate:
		return nil, false, carnet.Errorf(carnet.EKEY, "clé maîtresse introuvable (%s) alors que la base contient des données chiffrées : "+
			"restaurez le fichier de clé ou fournissez CARNET_MASTER_KEY ; aucune nouvelle clé n'est créée", src.File)
	}
	k, err := GenerateMasterKey()
	if err != nil {
		return nil, false, err
	}
	if err := CreateKeyFile(src.File, k); err != nil {
		return nil, false, err
	}
	return NewKeyring(k), true, nil
}

// FinishRotation makes the ".next" key file the key file, keeping the old one as
// "<file>.retired-<id>" (to be archived with the backups made under it, then destroyed).
func FinishRotation(file string, old *MasterKey) (retired string, err error) {
	retired = fmt.Sprintf("%s.retired-%s", file, old.ID())
	if _, err := os.Stat(file); err == nil {
		if err := os.Rename(file, retired); err != nil {
			return "", carnet.WrapErr("keys.FinishRotation", carnet.EKEY, err)
		}
	}
	if err := os.Rename(NextFile(file), file); err != nil {
		return "", carnet.WrapErr("keys.FinishRotation", carnet.EKEY, err)
	}
	return retired, syncDir(filepath.Dir(file))
}
