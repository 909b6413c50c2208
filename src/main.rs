// Every freed heap block is wiped (sys/wipe.rs): no stray copy of a secret
// outlives its buffer.
#[global_allocator]
static ALLOC: warden::sys::wipe::WipeOnFree = warden::sys::wipe::WipeOnFree;

fn main() {
    std::process::exit(warden::cli::main());
}
