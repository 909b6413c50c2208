"""A py9p client session against the demo tree (see tests/ninep.rs).

py9p on PyPI (1.0.8) is Python 2 only; py9pfactotum ships a Python 3 port
of it, which is used here. Usage: session.py SOCKET
"""
import socket
import sys

from py9pfactotum._vendor.py9p import py9p


def s(x):
    return x.decode() if isinstance(x, bytes) else x


def client(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return py9p.Client(sock, py9p.Credentials("glenda"))


def expect_error(what, fn, text):
    try:
        fn()
    except py9p.RpcError as e:
        got = s(e.args[0])
        assert got == text, f"{what}: got error {got!r}, want {text!r}"
        return
    raise AssertionError(f"{what}: no error, want {text!r}")


def main():
    path = sys.argv[1]
    c = client(path)
    assert c.msize == 8192, c.msize

    names = sorted(s(n) for n in c.ls())
    assert names == ["echo", "excl", "kick", "readonly", "secret", "sub", "wait"], names
    long = c.ls(long=1)
    assert any("readonly" in s(l) for l in long), long

    c.open("echo", py9p.ORDWR)
    assert c.write(b"hello, 9P") == 9
    c.pos = 0
    assert c.read(100) == b"hello, 9P"
    assert c.read(100) == b""
    c.close()

    st = c.stat("readonly")
    assert len(st) == 1 and s(st[0].name) == "readonly", st
    assert st[0].mode == 0o444, oct(st[0].mode)
    assert s(st[0].uid) == "glenda", st[0].uid

    c.open("readonly")
    assert c.read(4) == b"read"
    assert c.read(100) == b" only\n"
    assert c.read(100) == b""
    c.close()

    c.open("sub/deep")
    assert c.read(100) == b"deep\n"
    c.close()

    expect_error("open readonly for writing", lambda: c.open("readonly", py9p.OWRITE),
                 "permission denied")
    expect_error("walk to nothing", lambda: c.open("nothing"), "file not found")

    c.open("excl")
    other = client(path)
    expect_error("second exclusive open", lambda: other.open("excl"), "file in use")
    c.close()
    other.open("excl")
    other.close()
    other.fd.close()
    c.fd.close()
    print("py9p session ok")


main()
