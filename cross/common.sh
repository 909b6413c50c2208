# Shared by cross/build, cross/test and bench/: checks and settings for a
# cross build of warden. Source it with TARGET set; it sets `root`, `tc`
# and `CARGO_TARGET_DIR` and exports RUSTC_BOOTSTRAP (see cross/README.md).
# shellcheck shell=bash disable=SC2034 # qemu, tc, strip_tool and cross_release are used by the sourcing scripts

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
#
# WARDEN_LINK picks the linkage: static (default; musl linked in, runs on
# any kernel) or dynamic (against the router's musl, /lib/libc.so, as
# OpenWRT's SDK builds Rust packages: for measuring, see bench/size). A
# dynamic build keeps its own target dir (cross-dynamic), so the two never
# rebuild each other. dynamic-nopie keeps the static build's non-PIC code
# (.cargo/config.toml): an executable at a fixed address calling libc
# through a PLT, as a package Makefile gets by adding
# -Crelocation-model=static to the SDK's CARGO_RUSTFLAGS.
case ${WARDEN_LINK:-static} in
static) link_dir=cross link_flags= ;;
# -crt-static makes std link libc dynamically; PIC code (rustc's default
# for these targets, as the SDK leaves it) against the shared libc; zig
# links musl statically unless told -dynamic.
dynamic) link_dir=cross-dynamic link_flags=",'-Ctarget-feature=-crt-static','-Crelocation-model=pic','-Clink-arg=-dynamic'" ;;
dynamic-nopie) link_dir=cross-dynamic-nopie link_flags=",'-Ctarget-feature=-crt-static','-Clink-arg=-dynamic'" ;;
*) die "unknown WARDEN_LINK '$WARDEN_LINK' (static, dynamic or dynamic-nopie)" ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/$link_dir"

# The arguments of a router build, for `cargo "+$tc" build`: cross/build
# adds nothing but its own arguments, and bench/ builds examples with them
# (sharing std, the crates and the library with the shipped binary).
#
# Router builds abort on a panic without printing it (warden never panics
# on input; procd restarts it) and carry no unwind tables: together about
# 200 KB of a 1 MiB budget on mips. They also leave out the default cargo
# features `sim` (the simulated modem, for demos and tests), `client` (the
# LAN's commands: `cert request`, `otp`), `toml` (the TOML front end;
# routers read UCI) and
# `configpack` (Debian's usb-modeswitch tarball; routers have
# /etc/usb-mode.json). SHA-2 uses its compact (rolled) code: 62 KB less,
# each PBKDF2 iteration about 40% slower (keyfs's unlock on a 400 MHz 24Kc
# goes from about 1.0 s to 1.4 s at the default 35,000 iterations). Tests
# (cross/test) keep all of it. At the link step, `-Os` makes zig build
# musl and its compiler runtime for size (ReleaseSmall instead of its
# default ReleaseFast: about 16 KB less on mips) and -fno-unwind-tables
# leaves out their unwind tables (nothing unwinds: a panic aborts; 12.6 KB).
# -Zfmt-debug=none drops every Debug impl (about 18 KB): Debug formatting
# prints nothing, so program code never uses it (tests/source.rs checks).
# -Zlocation-detail=none drops the file:line strings only panic messages
# use, which immediate-abort never prints (3 KB).
#
# WARDEN_VARIANT picks the package the build is for, as the feed Makefile's
# VARIANT: full (default; the warden package: cargo feature `auth`) or
# uplink (warden-uplink: no features, the uplink alone).
case ${WARDEN_VARIANT:-full} in
full) variant_features=(--features auth) ;;
uplink) variant_features=() ;;
*) die "unknown WARDEN_VARIANT '$WARDEN_VARIANT' (full or uplink)" ;;
esac
cross_release=(--release --target "$TARGET"
	"-Zbuild-std=std,panic_abort" -Zbuild-std-features=optimize_for_size
	--no-default-features "${variant_features[@]}"
	--config "target.$TARGET.rustflags=['-Zunstable-options','-Cpanic=immediate-abort','-Cforce-unwind-tables=no','-Zfmt-debug=none','-Zlocation-detail=none','-Clink-arg=-Os','-Clink-arg=-fno-unwind-tables','-Clink-arg=-fno-asynchronous-unwind-tables','--cfg','sha2_backend_soft=\"compact\"'$link_flags]")
