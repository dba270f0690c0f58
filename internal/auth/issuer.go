package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/carnet-sante/carnet"
)

// ProClaims is what an embedded token says about the professional it is bound to.
type ProClaims struct {
	Subject       string            // the professional's Carnet ID ("sub")
	RPPS          string            // 11 digits (an idNat_PS "8"+RPPS is normalised)
	Profession    carnet.Profession // TRE_G15
	Specialty     string            // TRE_R38, optional
	StructureID   string            // optional
	StructureName string            // optional
	Name          string            // display name, optional
	Scopes        []string          // SMART scopes, e.g. "user/DocumentReference.rs"
}

// ClaimsFor builds the claims of a directory professional with the given scopes. A deactivated
// professional gets no token (EFORBIDDEN).
func ClaimsFor(p *carnet.Professional, scopes []string) (ProClaims, error) {
	if p == nil {
		return ProClaims{}, carnet.Errorf(carnet.EINVALID, "professionnel absent")
	}
	if !p.Active {
		return ProClaims{}, carnet.Errorf(carnet.EFORBIDDEN, "professionnel désactivé dans l'annuaire : aucun jeton n'est émis")
	}
	return ProClaims{
		Subject:       p.ID,
		RPPS:          p.RPPS,
		Profession:    p.Profession,
		Specialty:     p.Specialty,
		StructureID:   p.StructureID,
		StructureName: p.StructureName,
		Name:          p.DisplayName(),
		Scopes:        append([]string(nil), scopes...),
	}, nil
}

// DefaultScopes returns the scopes that a professional's practice software gets when none are
// asked for: reading patients, reading and writing documents and their bodies, declaring
// consent, reading and adding vaccinations, messaging. The service layer still decides, for
// each patient and document, what the professional may do.
func DefaultScopes() []string {
	return []string{
		"user/Patient.rs",
		"user/DocumentReference.cruds",
		"user/Binary.cr",
		"user/Consent.crus",
		"user/Immunization.crs",
		"user/Communication.crs",
	}
}

// wireClaims are the JSON claims of an embedded token.
type wireClaims struct {
	jwt.Claims
	RPPS          string `json:"rpps,omitempty"`
	Profession    string `json:"profession,omitempty"`
	Specialty     string `json:"specialty,omitempty"`
	StructureID   string `json:"structure_id,omitempty"`
	StructureName string `json:"structure_name,omitempty"`
	Name          string `json:"name,omitempty"`
	Scope         string `json:"scope,omitempty"`
}

// Issuer is the embedded token issuer: it signs compact JWTs with an Ed25519 key (EdDSA) or,
// when the key file holds one, a P-256 key (ES256). It is safe for concurrent use.
type Issuer struct {
	url    string
	pub    crypto.PublicKey
	alg    jose.SignatureAlgorithm
	kid    string
	signer jose.Signer
	now    func() time.Time
}

// LoadOrCreateIssuer loads the signing key from the PEM file at path (PKCS#8 "PRIVATE KEY",
// Ed25519 or P-256) or, if there is no such file, creates one with a new Ed25519 key, mode 0600.
// An existing file is never overwritten, and one that others than its owner may read is refused.
// issuerURL is the "iss" of the tokens, e.g. "https://carnet.example.fr".
func LoadOrCreateIssuer(path, issuerURL string, opts ...Option) (*Issuer, error) {
	if err := checkIssuerURL(issuerURL); err != nil {
		return nil, err
	}
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = carnet.WrapErr("auth.LoadOrCreateIssuer", carnet.EKEY, err)
	}
	if err != nil {
		return nil, err
	}
	return NewIssuer(issuerURL, key, opts...)
}

// NewIssuer returns an issuer signing with key (ed25519.PrivateKey or a P-256 *ecdsa.PrivateKey).
func NewIssuer(issuerURL string, key crypto.Signer, opts ...Option) (*Issuer, error) {
	const op = "auth.NewIssuer"
	if err := checkIssuerURL(issuerURL); err != nil {
		return nil, err
	}
	alg, err := keyAlgorithm(key)
	if err != nil {
		return nil, err
	}
	pub := key.Public()
	kid, err := keyID(pub)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg)}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	o := buildOptions(opts)
	return &Issuer{url: issuerURL, pub: pub, alg: alg, kid: kid, signer: signer, now: o.now}, nil
}

// URL returns the issuer identifier ("iss").
func (i *Issuer) URL() string { return i.url }

// KeyID returns the "kid" of the signing key: its RFC 7638 thumbprint.
func (i *Issuer) KeyID() string { return i.kid }

// PublicKey returns the public half of the signing key.
func (i *Issuer) PublicKey() crypto.PublicKey { return i.pub }

// JWKS returns the public key as a JSON Web Key Set, for publication (e.g. at /jwks.json).
func (i *Issuer) JWKS() ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: i.pub, KeyID: i.kid, Algorithm: string(i.alg), Use: "sig",
	}}})
}

// Verifier returns the verifier of this issuer's tokens. It uses the issuer's clock unless opts
// set another.
func (i *Issuer) Verifier(opts ...Option) *EmbeddedVerifier {
	v, _ := NewEmbeddedVerifier(i.url, i.pub, append([]Option{WithClock(i.now)}, opts...)...)
	return v
}

// Issue signs a token for the professional described by claims, valid for ttl (DefaultTTL when
// zero, at most MaxTTL). The claims are checked first: a Carnet ID, a well-formed RPPS and a
// known profession are required.
func (i *Issuer) Issue(claims ProClaims, ttl time.Duration) (string, error) {
	const op = "auth.Issue"
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > MaxTTL {
		return "", carnet.Errorf(carnet.EINVALID, "durée de validité du jeton hors limites : entre 1 s et %s", MaxTTL)
	}
	if err := claims.validate(); err != nil {
		return "", err
	}
	now := i.now()
	c := wireClaims{
		Claims: jwt.Claims{
			Issuer:    i.url,
			Subject:   claims.Subject,
			Audience:  jwt.Audience{Audience},
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		RPPS:          carnet.NormalizeRPPS(claims.RPPS),
		Profession:    string(claims.Profession),
		Specialty:     claims.Specialty,
		StructureID:   claims.StructureID,
		StructureName: claims.StructureName,
		Name:          claims.Name,
		Scope:         strings.Join(claims.Scopes, " "),
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	jws, err := i.signer.Sign(payload)
	if err != nil {
		return "", carnet.WrapErr(op, carnet.EKEY, err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	return tok, nil
}

// validate checks the claims before a token is issued; the message lists every problem.
func (c *ProClaims) validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Subject == "" || !cleanText(c.Subject, 128) {
		add("identifiant Carnet du professionnel absent ou invalide")
	}
	if err := carnet.ValidateRPPS(c.RPPS); err != nil {
		add("%s", carnet.ErrorMessage(err))
	}
	if !c.Profession.Valid() {
		add("code de profession inconnu : %q", c.Profession)
	}
	if !cleanText(c.Specialty, 16) || !cleanText(c.StructureID, 64) {
		add("spécialité ou identifiant de structure invalide")
	}
	if !cleanText(c.StructureName, 256) || !cleanText(c.Name, 256) {
		add("nom ou nom de structure invalide")
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") || !cleanText(s, 256) {
			add("portée invalide : %q", s)
		}
	}
	if len(problems) > 0 {
		return carnet.Errorf(carnet.EINVALID, "jeton non émis : %s", strings.Join(problems, " ; "))
	}
	return nil
}

func checkIssuerURL(u string) error {
	if u == "" || !cleanText(u, 512) || strings.ContainsAny(u, " \t") {
		return carnet.Errorf(carnet.EINVALID, "identifiant d'émetteur de jetons invalide : %q", u)
	}
	return nil
}

// keyAlgorithm returns the JWS algorithm of a private key.
func keyAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			break
		}
		return jose.EdDSA, nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return jose.ES256, nil
		}
	}
	return "", carnet.Errorf(carnet.EKEY, "clé de signature des jetons non prise en charge (%T) : Ed25519 ou ECDSA P-256 attendue", key)
}

// publicAlgorithm returns the JWS algorithm of a public key.
func publicAlgorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return jose.EdDSA, nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return jose.ES256, nil
		}
	}
	return "", carnet.Errorf(carnet.EKEY, "clé publique des jetons non prise en charge (%T) : Ed25519 ou ECDSA P-256 attendue", pub)
}

// keyID is the RFC 7638 thumbprint (SHA-256, base64url) of a public key.
func keyID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// maxKeyFile bounds the size of a key file that is read.
const maxKeyFile = 64 << 10

// readKeyFile reads a PEM PKCS#8 private key. Its error wraps fs.ErrNotExist when there is no
// file.
func readKeyFile(path string) (crypto.Signer, error) {
	const op = "auth.readKeyFile"
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, carnet.Errorf(carnet.EKEY, "le fichier de clé des jetons %s n'est pas un fichier ordinaire", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, carnet.Errorf(carnet.EKEY, "le fichier de clé des jetons %s est lisible par d'autres que son propriétaire (%04o) : chmod 600", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	bad := func(why string) error {
		return carnet.Errorf(carnet.EKEY, "fichier de clé des jetons %s illisible : %s", path, why)
	}
	if len(b) > maxKeyFile {
		return nil, bad("trop volumineux")
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, bad("bloc PEM « PRIVATE KEY » attendu")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, bad("clé PKCS#8 invalide")
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, bad("type de clé non pris en charge")
	}
	if _, err := keyAlgorithm(signer); err != nil {
		return nil, err
	}
	return signer, nil
}

// createKeyFile writes a new Ed25519 key to path, mode 0600, durably and atomically: the key is
// written to a temporary file that is then hard-linked to path, which fails if path exists. When
// another process won the race, its key is read instead.
func createKeyFile(path string) (crypto.Signer, error) {
	const op = "auth.createKeyFile"
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	tmp, err := os.CreateTemp(dir, ".carnet-token-key-*") // mode 0600
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, carnet.WrapErr(op, carnet.EKEY, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return nil, carnet.WrapErr(op, carnet.EKEY, err)
		}
	}
	return priv, nil
}
