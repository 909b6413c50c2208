//! An allocator that wipes every block it frees.
//!
//! Secrets pass through buffers warden does not hold by name: a 9P
//! message carrying a key line or an rpc reply, a Vec that grew (its old
//! block freed by realloc), the text of a key file. Zeroize covers the
//! values warden keeps; this covers the copies: whatever the program frees
//! is overwritten first (explicit_bzero, which the compiler may not drop),
//! so no freed heap block keeps a password for the next allocation or a
//! core file to find. Not covered: stack copies, and data still live in a
//! buffer's spare capacity. The binary installs it (`src/main.rs`).

use std::alloc::{GlobalAlloc, Layout, System};

pub struct WipeOnFree;

// SAFETY: every call is passed on to the system allocator unchanged; dealloc
// only writes to the block it is about to free, which the caller owns.
unsafe impl GlobalAlloc for WipeOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes that the
        // caller gives up; explicit_bzero writes only inside it.
        unsafe {
            libc::explicit_bzero(ptr.cast(), layout.size());
            System.dealloc(ptr, layout)
        }
    }

    // realloc: GlobalAlloc's default (alloc, copy, dealloc), so the old
    // block is wiped too; growing in place would leave nothing behind either,
    // but shrinking in place would keep the tail.
}

/// Remove the first `n` bytes of a buffer of received or outgoing
/// messages without leaving them behind: `drain` would move the rest down
/// and keep stale copies in the spare capacity, while a fresh vector lets
/// the old block go to [`WipeOnFree`].
pub fn consume_front(v: &mut Vec<u8>, n: usize) {
    *v = v.get(n..).unwrap_or(&[]).to_vec();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_front_keeps_the_rest_in_a_fresh_buffer() {
        let mut v = b"0123456789".to_vec();
        consume_front(&mut v, 4);
        assert_eq!(v, b"456789");
        assert_eq!(v.capacity(), 6);
        consume_front(&mut v, 99);
        assert!(v.is_empty());
    }

    #[test]
    fn freed_blocks_are_wiped_and_reallocation_keeps_the_data() {
        let a = WipeOnFree;
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a fresh block of `layout`, written and read within it,
        // then given back with the same layout.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            std::ptr::write_bytes(p, 0xa5, 64);
            let q = a.realloc(p, layout, 4096);
            assert!(!q.is_null());
            assert!(std::slice::from_raw_parts(q, 64).iter().all(|&b| b == 0xa5));
            // Wipe through the same path dealloc takes, on a block we keep
            // (reading a freed block would be undefined).
            libc::explicit_bzero(q.cast(), 64);
            assert!(std::slice::from_raw_parts(q, 64).iter().all(|&b| b == 0));
            a.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
