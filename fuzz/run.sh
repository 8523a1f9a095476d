#!/usr/bin/env bash
# Fuzz every target in fuzz/fuzz_targets/ for SECONDS each (default 30) with cargo-fuzz on
# the stable toolchain. Exits non-zero if a target crashes or does not build.
#   fuzz/run.sh [SECONDS]
# New corpus entries go to fuzz/corpus/<target> (ignored by git); the committed seeds in
# fuzz/seeds/<target> are read, never written. A crash input lands in fuzz/artifacts/<target>.
set -euo pipefail

secs="${1:-30}"
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (about 30 s of compiling on 2 cores)"
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes -Z sanitizer flags; RUSTC_BOOTSTRAP lets the stable compiler take them.
export RUSTC_BOOTSTRAP=1

status=0
for target_file in fuzz_targets/*.rs; do
    target="$(basename "$target_file" .rs)"
    mkdir -p "corpus/$target"
    dirs=("corpus/$target")
    if [ -d "seeds/$target" ]; then dirs+=("seeds/$target"); fi
    # api_json links the whole root crate (tokio, sqlx, axum, rustls), behind the
    # fuzz crate's `api` feature so no other target builds it. Unoptimised and without
    # AddressSanitizer its cold build takes about 4 min of CPU instead of half an hour
    # (docs/decisions.md); its parsers are safe Rust, and a panic still aborts.
    flags=()
    if [ "$target" = api_json ]; then
        flags=(--dev --sanitizer none --features api)
    fi
    echo "== $target: ${secs}s"
    if ! cargo fuzz run "$target" ${flags[@]+"${flags[@]}"} "${dirs[@]}" -- -max_total_time="$secs" -print_final_stats=1; then
        echo "!! $target: crash or build failure (inputs in fuzz/artifacts/$target)" >&2
        status=1
    fi
done
exit "$status"
