#!/usr/bin/env bash
# Installs, idempotently, what building the HiGHS solver needs: cmake and a C++ compiler
# (highs-sys builds HiGHS from source) and libclang (bindgen writes its Rust bindings).
# HiGHS is a dev-dependency of the planner crate only: the exact check of the rota model
# (planner/tests/rota_exact.rs, docs/rota-model.md). Call it before the first cargo build
# of the tests. Debian packages, when root and missing; otherwise says what is missing.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
have_libclang() {
  local f
  for f in ${LIBCLANG_PATH:+"$LIBCLANG_PATH"/libclang*.so*} /usr/lib/llvm-*/lib/libclang.so* \
    /usr/lib/*/libclang.so* /usr/lib/*/libclang-[0-9]*.so*; do
    [ -e "$f" ] && return 0
  done
  return 1
}
have_libclang || missing+=(libclang-dev)
[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "== installing ${missing[*]} (to build the HiGHS solver for the rota check)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "error: building HiGHS needs ${missing[*]}; install them (Debian: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
