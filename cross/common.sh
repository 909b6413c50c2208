# Shared by cross/build, cross/test and bench/: checks and settings for a
# cross build of warden. Source it with TARGET set; it sets `root`, `tc`
# and `CARGO_TARGET_DIR` and exports RUSTC_BOOTSTRAP (see cross/README.md).
# shellcheck shell=bash disable=SC2034 # qemu, tc and strip_tool are used by the sourcing scripts

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
	echo "cross: $*" >&2
	exit 1
}

case "${TARGET:-}" in
mips-unknown-linux-musl) qemu="qemu-mips-static" ;;
mipsel-unknown-linux-musl) qemu="qemu-mipsel-static" ;;
aarch64-unknown-linux-musl) qemu="qemu-aarch64-static" ;;
x86_64-unknown-linux-musl) qemu="" ;; # runs natively
"") die "no target given (one of: mips-unknown-linux-musl mipsel-unknown-linux-musl aarch64-unknown-linux-musl x86_64-unknown-linux-musl)" ;;
*) die "unknown target '$TARGET' (one of: mips-unknown-linux-musl mipsel-unknown-linux-musl aarch64-unknown-linux-musl x86_64-unknown-linux-musl)" ;;
esac

# The toolchain is pinned because -Zbuild-std is unstable: its flags and
# behaviour may change between releases.
tc=$(tr -d ' \n' <"$root/cross/rust-toolchain")
command -v rustup >/dev/null || die "rustup not found (run .ci/setup)"
rustup run "$tc" rustc --version >/dev/null 2>&1 ||
	die "Rust toolchain $tc is not installed (run .ci/setup, or: rustup toolchain install $tc --profile minimal --component rust-src)"
sysroot=$(rustup run "$tc" rustc --print sysroot)
[ -d "$sysroot/lib/rustlib/src/rust/library" ] ||
	die "rust-src is missing for toolchain $tc (run .ci/setup, or: rustup component add --toolchain $tc rust-src)"
host=$(rustup run "$tc" rustc -vV | sed -n 's/^host: //p')
strip_tool="$sysroot/lib/rustlib/$host/bin/llvm-strip"
[ -x "$strip_tool" ] ||
	die "llvm-strip is missing for toolchain $tc (run .ci/setup, or: rustup component add --toolchain $tc llvm-tools)"
if [ -z "${ZIG:-}" ]; then
	python3 -m ziglang version >/dev/null 2>&1 ||
		die "zig not found: python3 -m ziglang failed (run .ci/setup, or: python3 -m pip install ziglang)"
fi

# -Zbuild-std on a stable toolchain.
export RUSTC_BOOTSTRAP=1
# Cross builds keep their own target dir: RUSTC_BOOTSTRAP changes what some
# build scripts detect, and sharing would make host and cross builds
# rebuild each other's dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/cross"
