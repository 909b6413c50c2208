"""A py9p client session against the daemon's keyfs tree (see
tests/keyfs_daemon.rs): mkdir adds a user, the per-user files read and
write their text formats, wstat renames, remove deletes, secret is
write-only. keyfs must be unlocked. Usage: keyfs.py SOCKET
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
        assert text in got, f"{what}: got error {got!r}, want {text!r}"
        return
    raise AssertionError(f"{what}: no error, want {text!r}")


def read(c, name):
    c.open(name)
    data = c.read(8192)
    c.close()
    return data


def write(c, name, data):
    c.open(name, py9p.OWRITE)
    n = c.write(data)  # on an error py9p has closed the file already
    c.close()
    assert n == len(data), (name, n)


def main():
    c = client(sys.argv[1])
    assert read(c, "ctl") == b"unlocked\n"
    c.create("py9p", py9p.DMDIR | 0o700, py9p.OREAD)
    c.close()
    assert "py9p" in [s(n) for n in c.ls()], c.ls()
    c.open("py9p")
    files = {s(d.name): d.mode for d in c.lsdir()}
    c.close()
    assert files == {
        "key": 0o200,
        "aeskey": 0o200,
        "secret": 0o200,
        "expire": 0o600,
        "log": 0o600,
        "status": 0o600,
    }, files
    assert read(c, "py9p/status") == b"ok\n"
    assert read(c, "py9p/expire") == b"never\n"
    assert read(c, "py9p/log") == b"0\n"
    write(c, "py9p/secret", b"hunter2\n")
    expect_error("read secret", lambda: c.open("py9p/secret"), "permission denied")
    expect_error("read aeskey", lambda: c.open("py9p/aeskey"), "permission denied")
    expect_error("short aeskey", lambda: write(c, "py9p/aeskey", b"too short"), "garbled write data")
    write(c, "py9p/aeskey", bytes(range(16)))
    write(c, "py9p/expire", b"4102444800")
    assert read(c, "py9p/expire") == b"4102444800\n"
    expect_error("bad expire", lambda: write(c, "py9p/expire", b"tomorrow"), "bad expiry")
    write(c, "py9p/status", b"disabled")
    assert read(c, "py9p/status") == b"disabled\n"
    write(c, "py9p/status", b"ok\n")
    write(c, "py9p/log", b"bad")
    write(c, "py9p/log", b"bad")
    assert read(c, "py9p/log") == b"2\n"
    write(c, "py9p/log", b"good")
    assert read(c, "py9p/log") == b"0\n"
    expect_error("mkdir twice",
                 lambda: c.create("py9p", py9p.DMDIR | 0o700, py9p.OREAD), "exists")
    expect_error("plain file", lambda: c.create("plain", 0o600, py9p.OWRITE),
                 "create prohibited")
    # wstat: only the name changes (every other field "don't touch").
    c.open("py9p")
    st = py9p.Dir(0, 0xFFFF, 0xFFFFFFFF, py9p.Qid(0xFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF),
                  0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
                  "py9p2", "", "", "")
    c._wstat(c.F, [st])
    c.close()
    names = [s(n) for n in c.ls()]
    assert "py9p2" in names and "py9p" not in names, names
    assert read(c, "py9p2/expire") == b"4102444800\n"
    c.rm("py9p2")
    assert "py9p2" not in [s(n) for n in c.ls()]
    expect_error("walk to a removed user", lambda: c.open("py9p2/status"), "not found")
    c.fd.close()
    print("py9p keyfs ok")


main()
