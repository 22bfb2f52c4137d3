#!/usr/bin/env bash
# fake-gcs-server, the Google Cloud Storage emulator the GCS connector tests run, built from the Go
# module proxy into the user's cache folder (pinned version, reused when present, by every checkout
# of caretflow on the machine: the first build takes minutes); prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v1.56.1
CACHE="${CARETFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caretflow}"
BIN="$CACHE/go-bin/fake-gcs-server-$VERSION"
if [ ! -x "$BIN" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  if [ ! -x "$GO" ]; then
    # No Go here: take the official toolchain from the Go module proxy (as GOTOOLCHAIN would), once.
    TOOLCHAIN=v0.0.1-go1.26.8.linux-amd64
    GO="$CACHE/go-toolchain/golang.org/toolchain@$TOOLCHAIN/bin/go"
    if [ ! -x "$GO" ]; then
      echo "fake-gcs: downloading the Go toolchain $TOOLCHAIN from proxy.golang.org" >&2
      mkdir -p "$CACHE/go-toolchain"
      curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/$TOOLCHAIN.zip" -o "$CACHE/go-toolchain/$TOOLCHAIN.zip"
      python3 -m zipfile -e "$CACHE/go-toolchain/$TOOLCHAIN.zip" "$CACHE/go-toolchain"
      chmod +x "$CACHE/go-toolchain/golang.org/toolchain@$TOOLCHAIN/bin/"* "$CACHE/go-toolchain/golang.org/toolchain@$TOOLCHAIN/pkg/tool/"*/*
      rm "$CACHE/go-toolchain/$TOOLCHAIN.zip"
    fi
  fi
  echo "fake-gcs: building fake-gcs-server $VERSION" >&2
  mkdir -p "$CACHE/go-bin"
  TMPBIN=$(mktemp -d "$CACHE/go-bin.XXXXXX") # its own folder, so two builds at once never mix
  trap 'rm -rf "$TMPBIN"' EXIT # a failed build leaves no half-made folder in the cache
  GOBIN="$TMPBIN" GOPATH="$CACHE/go" GOCACHE="$CACHE/go-build" GOFLAGS=-modcacherw GOTOOLCHAIN=auto \
    "$GO" install "github.com/fsouza/fake-gcs-server@$VERSION" >&2
  mv "$TMPBIN/fake-gcs-server" "$BIN"
fi
echo "$BIN"
