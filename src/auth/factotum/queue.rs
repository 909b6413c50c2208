//! Message queues behind the log, confirm and needkey files (plan9port
//! log.c `Logbuf`): the agent appends lines, readers take them one per
//! read, a read with nothing queued waits. At most 128 lines are kept; the
//! oldest go first.

use std::collections::VecDeque;

pub const QUEUE_MAX: usize = 128;

#[derive(Default, Debug)]
pub struct Queue {
    msgs: VecDeque<String>,
    /// Someone holds the file open (they are exclusive-open files).
    pub open: bool,
}

impl Queue {
    pub fn push(&mut self, s: String) {
        if self.msgs.len() >= QUEUE_MAX {
            self.msgs.pop_front();
        }
        self.msgs.push_back(s);
    }

    pub fn pop(&mut self) -> Option<String> {
        self.msgs.pop_front()
    }

    /// Keep only the lines `keep` says yes to.
    pub fn retain(&mut self, keep: impl FnMut(&String) -> bool) {
        self.msgs.retain(keep);
    }

    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }
}

/// Shape one queued line for a read of `count` bytes as plan9port's
/// `lbkick` does: the line and a newline, or, when that does not fit, the
/// first `count - 5` bytes less their last character, then `...\n`. A read shorter than 5 bytes is an error.
pub fn fit_read(msg: &str, count: usize) -> Result<Vec<u8>, &'static str> {
    if count < 5 {
        return Err("factotum: read request count too short");
    }
    if count < msg.len() + 2 {
        // lbkick steps back over the last (possibly partial) character
        let b = msg.as_bytes();
        let mut n = count - 5;
        while n > 0 {
            n -= 1;
            if b.get(n).is_none_or(|&c| c & 0xC0 != 0x80) {
                break;
            }
        }
        let mut v = b.get(..n).unwrap_or_default().to_vec();
        v.extend_from_slice(b"...\n");
        Ok(v)
    } else {
        let mut v = msg.as_bytes().to_vec();
        v.push(b'\n');
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut q = Queue::default();
        for i in 0..200 {
            q.push(format!("m{i}"));
        }
        assert_eq!(q.len(), QUEUE_MAX);
        assert_eq!(q.pop().as_deref(), Some("m72"));
    }

    #[test]
    fn fit() {
        assert_eq!(fit_read("hello", 100).unwrap(), b"hello\n");
        assert_eq!(fit_read("hello", 7).unwrap(), b"hello\n");
        assert_eq!(fit_read("hello world", 8).unwrap(), b"he...\n");
        assert_eq!(fit_read("héllo", 7).unwrap(), b"h...\n");
        assert_eq!(fit_read("hello", 5).unwrap(), b"...\n");
        assert!(fit_read("x", 4).is_err());
    }
}
