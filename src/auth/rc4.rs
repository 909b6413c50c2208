//! RC4, the one copy: Inferno's devssl records (`inferno/ssl.rs`) and
//! secstore's SConn (`secstore/sconn.rs`) both encrypt with it, as libsec
//! does. The state (wiped on drop) runs across calls.

use zeroize::Zeroizing;

/// RC4: the key schedule and the generator. An empty key leaves the
/// identity permutation (libsec would divide by zero).
#[derive(Clone)]
pub struct Rc4 {
    s: Zeroizing<[u8; 256]>,
    i: u8,
    j: u8,
}

impl Rc4 {
    pub fn new(key: &[u8]) -> Rc4 {
        let mut s = Zeroizing::new([0u8; 256]);
        for (i, x) in s.iter_mut().enumerate() {
            *x = i as u8;
        }
        if !key.is_empty() {
            let mut j = 0u8;
            for i in 0..256 {
                j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
                s.swap(i, usize::from(j));
            }
        }
        Rc4 { s, i: 0, j: 0 }
    }

    pub fn apply(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.i = self.i.wrapping_add(1);
            self.j = self.j.wrapping_add(self.s[usize::from(self.i)]);
            self.s.swap(usize::from(self.i), usize::from(self.j));
            let k = self.s[usize::from(
                self.s[usize::from(self.i)].wrapping_add(self.s[usize::from(self.j)]),
            )];
            *b ^= k;
        }
    }
}
