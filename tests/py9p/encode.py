"""Print py9p's encoding of some messages as hex, one per line, so the
Rust codec can be compared with an independent implementation."""
import io

from py9pfactotum._vendor.py9p import py9p


class Sink:
    def __init__(self):
        self.data = b""

    def write(self, b):
        self.data += b

    def fileno(self):
        return -1


def enc(fcall):
    sink = Sink()
    py9p.Marshal9P().send(sink, fcall)
    return sink.data.hex()


def f(ty, tag, **kw):
    fc = py9p.Fcall(ty, tag)
    for k, v in kw.items():
        setattr(fc, k, v)
    return fc


q = py9p.Qid(0x80, 7, 0x0102030405060708)
d = py9p.Dir(0, 0, 0, py9p.Qid(0, 3, 42), 0o600 | 0x20000000, 1000, 2000, 12,
             "needkey", "glenda", "glenda", "")
msgs = [
    f(py9p.Tversion, 0xFFFF, msize=8192, version="9P2000"),
    f(py9p.Rversion, 0xFFFF, msize=8216, version="9P2000"),
    f(py9p.Tauth, 1, afid=10, uname="glenda", aname=""),
    f(py9p.Tattach, 2, fid=11, afid=0xFFFFFFFF, uname="glenda", aname=""),
    f(py9p.Rattach, 2, qid=q),
    f(py9p.Rerror, 3, ename="permission denied"),
    f(py9p.Tflush, 4, oldtag=3),
    f(py9p.Twalk, 5, fid=11, newfid=13, wname=[b"factotum", b"rpc"]),
    f(py9p.Rwalk, 5, wqid=[q, py9p.Qid(0, 0, 9)]),
    f(py9p.Topen, 6, fid=13, mode=2),
    f(py9p.Ropen, 6, qid=q, iounit=8192),
    f(py9p.Tcreate, 7, fid=13, name="new", perm=0o644, mode=1),
    f(py9p.Tread, 8, fid=13, offset=1 << 33, count=4096),
    f(py9p.Rread, 8, data=b"ok data"),
    f(py9p.Twrite, 9, fid=13, offset=0, data=b"start proto=pass"),
    f(py9p.Rwrite, 9, count=16),
    f(py9p.Tclunk, 10, fid=13),
    f(py9p.Tremove, 11, fid=13),
    f(py9p.Tstat, 12, fid=13),
    f(py9p.Rstat, 12, stat=[d]),
    f(py9p.Twstat, 13, fid=13, stat=[d]),
]
for m in msgs:
    print(enc(m))
