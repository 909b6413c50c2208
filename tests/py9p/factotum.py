"""py9p and py9pfactotum (PyPI) against warden's factotum.

Usage: factotum.py session SOCKET   a py9p session: ls, stat modes, read
                                    ctl, write ctl, an rpc round, errors
       factotum.py getpass          py9pfactotum's getpass; finds the
                                    socket at $NAMESPACE/factotum
"""
import socket
import sys

import py9pfactotum
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


def session(path):
    c = client(path)
    names = sorted(s(n) for n in c.ls())
    assert names == ["confirm", "conv", "ctl", "log", "needkey", "proto", "rpc"], names
    modes = {s(st.name): st.mode for st in c.stat("ctl") + c.stat("rpc") + c.stat("log")}
    assert modes == {"ctl": 0o600, "rpc": 0o666, "log": 0x20000000 | 0o600}, modes

    c.open("proto")
    protos = s(c.read(8192)).split()
    assert "pass" in protos and "hotp" in protos, protos
    c.close()

    c.open("ctl", py9p.OWRITE)
    assert c.write(b"key proto=pass user=glenda server=py9p !password='open sesame'") > 0
    c.close()
    # py9p forgets the fid after an error: reopen for each
    for line, err in [(b"frob x=1", "unknown verb frob"),
                      (b"key proto=rot13 user=x", "unknown proto rot13")]:
        c.open("ctl", py9p.OWRITE)
        expect_error(line, lambda: c.write(line), err)

    c.open("ctl")
    listing = s(c.read(8192))
    assert "key proto=pass server=py9p user=glenda !password?\n" in listing, listing
    assert "sesame" not in listing, listing
    c.close()

    c.open("rpc", py9p.ORDWR)
    c.write(b"start proto=pass role=client server=py9p")
    assert c.read(8192) == b"ok"
    c.write(b"read")
    assert c.read(8192) == b"ok glenda 'open sesame'"
    c.close()
    c.open("rpc", py9p.ORDWR)
    expect_error("bad verb", lambda: c.write(b"frob"), "bad rpc verb: frob")
    c.open("rpc", py9p.ORDWR)
    expect_error("read before a request", lambda: c.read(8192), "no rpc pending")

    c.open("log")
    other = client(path)
    expect_error("log twice", lambda: other.open("log"), "file in use")
    c.close()
    other.open("log")
    other.close()

    c.open("ctl", py9p.OWRITE)
    c.write(b"delkey server=py9p")
    c.close()
    c.open("ctl", py9p.OWRITE)
    expect_error("delkey none", lambda: c.write(b"delkey server=py9p"),
                 "found no keys to delete")
    c.fd.close()
    print("py9p factotum session ok")


def getpass():
    r = py9pfactotum.auth_getuserpasswd(server="getpass.example")
    assert r == {"user": "glenda", "passwd": "s3cret"}, r
    print("getpass ok")


if sys.argv[1] == "session":
    session(sys.argv[2])
else:
    getpass()
