#!/usr/bin/env bash
# fake-gcs-server, the Google Cloud Storage emulator the GCS connector tests run, built from the Go
# module proxy into .cache/go-bin (pinned version, reused when present); prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v1.56.1
BIN="$PWD/.cache/go-bin/fake-gcs-server-$VERSION"
if [ ! -x "$BIN" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || { echo "fake-gcs: Go is not installed (needed to build fake-gcs-server $VERSION)" >&2; exit 1; }
  echo "fake-gcs: building fake-gcs-server $VERSION" >&2
  mkdir -p .cache/go-bin
  GOBIN="$PWD/.cache/go-bin/tmp" GOPATH="$PWD/.cache/go" GOCACHE="$PWD/.cache/go-build" GOFLAGS=-modcacherw \
    "$GO" install "github.com/fsouza/fake-gcs-server@$VERSION" >&2
  mv .cache/go-bin/tmp/fake-gcs-server "$BIN"
  rmdir .cache/go-bin/tmp
fi
echo "$BIN"
