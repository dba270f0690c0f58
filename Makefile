# Carnet — the two set-up commands are `make run` and `make test` (see README.md).
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS = ./...

.PHONY: run test vet lint bench build screenshots

## run: serve Carnet on http://127.0.0.1:8080 with embedded SQLite and a demo world under ./carnet-data
run:
	$(GO) run ./cmd/carnet demo --addr 127.0.0.1:8080

## test: every check and every test (PostgreSQL and S3 tests skip unless available; CI=true makes them fail)
test: vet lint
	$(GO) test -count=1 $(PKGS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

lint:
	$(GO) run $(STATICCHECK) $(PKGS)

build:
	$(GO) build -o bin/carnet ./cmd/carnet

## screenshots: refresh docs/screenshots/ (the browser tests save a picture of each main page)
screenshots:
	rm -f docs/screenshots/*.png
	CARNET_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestPortal' ./cmd/carnet/

## bench: the benchmarks quoted in docs/performance.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/store/... ./internal/service/ ./internal/policy/ ./internal/blob/...
