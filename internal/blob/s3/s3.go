// Package s3 is the blob store on S3-compatible object storage (MinIO, Amazon S3...), for
// deployments of several Carnet replicas. A key is an object name in one bucket.
//
// A Put never replaces an object: it is a conditional write (If-None-Match: *), refused by the
// server with 412 Precondition Failed when the object exists, which the server decides
// atomically. It is always a single PUT (no multipart upload), so that the condition applies to
// the whole write; Amazon S3 limits a single PUT to 5 GiB. The write is durable when the server
// acknowledges it, as far as the server's own settings make it so.
package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config tells where the store is.
type Config struct {
	Endpoint  string // host:port, without scheme (e.g. "127.0.0.1:9000" or "s3.eu-west-3.amazonaws.com")
	AccessKey string
	SecretKey string
	Bucket    string // created by Open if missing
	UseTLS    bool   // https rather than http
	Region    string // optional; also the region of a bucket that Open creates
}

// Store is a carnet.BlobStore on one bucket. It is safe for concurrent use.
type Store struct {
	client *minio.Client
	bucket string
}

var _ carnet.BlobStore = (*Store)(nil)

// Open connects to the endpoint and creates the bucket if it does not exist. It fails with
// EINVALID on an incomplete configuration and EUNAVAILABLE when the server does not answer or
// refuses.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	const op = "blob/s3.Open"
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "stockage S3 : point d'accès et compartiment requis")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EINVALID, err)
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, blob.Unavailable(op, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && s3Code(err) != minio.BucketAlreadyOwnedByYou {
			return nil, blob.Unavailable(op, err)
		}
	}
	return &Store{client: client, bucket: cfg.Bucket}, nil
}

// Bucket returns the name of the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Put stores the size bytes of r under key. It fails with ECONFLICT if the key exists, with
// EINVALID if the key is invalid or r does not hold exactly size bytes, in which case nothing is
// stored.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	const op = "blob/s3.Put"
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if size < 0 {
		return carnet.Errorf(carnet.EINVALID, "taille de contenu négative")
	}
	if err := ctx.Err(); err != nil {
		return blob.Unavailable(op, err)
	}
	er := blob.NewExactReader(ctx, r, size)
	if size == 0 {
		// The client sends no body and so never reads r: check it now.
		if err := er.Verify(); err != nil {
			return blob.Unavailable(op, err)
		}
	}
	opts := minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: true,
	}
	opts.SetMatchETagExcept("*") // If-None-Match: *
	// er is not an io.Seeker, so the client never retries the PUT: a retry after a lost
	// response would find the object and report a conflict.
	_, err := s.client.PutObject(ctx, s.bucket, key, er, size, opts)
	if err != nil {
		switch {
		case er.Err() != nil:
			return blob.Unavailable(op, er.Err())
		case ctx.Err() != nil:
			return blob.Unavailable(op, ctx.Err())
		case isExists(err):
			return blob.Conflict(op)
		}
		return blob.Unavailable(op, err)
	}
	if err := er.Verify(); err != nil {
		// The client stopped at size bytes and the body went on: undo the write, which is
		// ours since the object did not exist before it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := s.client.RemoveObject(rctx, s.bucket, key, minio.RemoveObjectOptions{}); rerr != nil {
			return blob.Unavailable(op, errors.Join(err, rerr))
		}
		return blob.Unavailable(op, err)
	}
	return nil
}

// Get returns the object stored under key, or an ENOTFOUND error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	const op = "blob/s3.Get"
	if err := blob.Check(ctx, op, key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.readErr(ctx, op, err)
	}
	defer obj.Close()
	info, err := obj.Stat() // sends the GET
	if err != nil {
		return nil, s.readErr(ctx, op, err)
	}
	buf := make([]byte, info.Size)
	if _, err := io.ReadFull(obj, buf); err != nil {
		return nil, s.readErr(ctx, op, err)
	}
	return buf, nil
}

// Delete removes the object stored under key, or returns an ENOTFOUND error.
//
// S3 deletes a missing object without complaint, so Delete first checks that the object exists:
// of two concurrent Deletes of one key, both may succeed.
func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "blob/s3.Delete"
	if err := blob.Check(ctx, op, key); err != nil {
		return err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err != nil {
		return s.readErr(ctx, op, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.readErr(ctx, op, err)
	}
	return nil
}

// readErr maps an error of a read or delete: a missing object is ENOTFOUND, the rest
// EUNAVAILABLE.
func (s *Store) readErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return blob.Unavailable(op, ctx.Err())
	}
	if s3Code(err) == minio.NoSuchKey {
		return blob.NotFound(op)
	}
	return blob.Unavailable(op, err)
}

// isExists tells whether a conditional PUT was refused because the object exists.
func isExists(err error) bool {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	return er.Code == minio.PreconditionFailed || er.StatusCode == http.StatusPreconditionFailed
}

// s3Code returns the S3 error code of err, or "".
func s3Code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}
