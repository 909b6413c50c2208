#!/usr/bin/env python3
"""Record what plan9port's factotum answers for transcript.txt.

Each input line is one operation:
  ctl TEXT   write TEXT to factotum/ctl; prints "ctl ok" or "ctl error: E"
  list       read factotum/ctl; prints it and "--"
  newconv    open factotum/rpc afresh (a new conversation)
  rpc REQ    write REQ to the conversation and read the reply (newlines in
             a reply shown as \n); errors as "write: E" / "read: E";
             "<pending>" if no reply comes within a second
  rpc-wait   print the reply a pending rpc read got since
  confirm-open         hold factotum/confirm open (9p rdwr)
  confirm-read         print the requests posted there, "confirm> " first
  confirm-write TEXT   answer; errors as "confirm write: E"
The same format is produced for warden by the test in
src/auth/factotum/tests.rs, which compares it with transcript.plan9port.out.

To re-record: build plan9port (never commit it), then
  export PLAN9=/path/to/plan9port PATH=$PLAN9/bin:$PATH NAMESPACE=$(mktemp -d)
  factotum -n &
  P9P=$PLAN9 ./record.py < transcript.txt > transcript.plan9port.out
(plan9port's chap client frees its key twice after "bad", so the chap
section is last: the factotum dies soon after.)
"""
import os, subprocess, sys, select, time
P = os.environ["P9P"]
env = dict(os.environ, PLAN9=P, PATH=P+"/bin:"+os.environ["PATH"])
def run(args, inp=None):
    r = subprocess.run([P+"/bin/9p"]+args, input=inp, capture_output=True, env=env, timeout=10)
    return r.stdout.decode("latin1"), r.stderr.decode("latin1")
class Conv:
    def __init__(self, file="factotum/rpc"):
        self.p = subprocess.Popen([P+"/bin/9p", "rdwr", file], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.collect()
    def collect(self):
        out = b""; err = b""
        deadline = time.time()+1.0
        while time.time() < deadline:
            r,_,_ = select.select([self.p.stdout, self.p.stderr], [], [], 0.2)
            for f in r:
                d = os.read(f.fileno(), 65536)
                if f is self.p.stdout: out += d
                else: err += d
            if out.endswith(b"\n") and not r: break
        return out.decode("latin1"), err.decode("latin1")
    def rpc(self, line):
        self.p.stdin.write(line.encode()+b"\n"); self.p.stdin.flush()
        out, err = self.collect()
        res = []
        for e in err.splitlines():
            res.append(e.replace("9p: ", ""))
        if out:
            o = out[:-1] if out.endswith("\n") else out
            res.append(o.replace("\n", "\\n"))
        if not res: res.append("<pending>")
        return res
    def wait(self):
        out, err = self.collect()
        o = out[:-1] if out.endswith("\n") else out
        return [o.replace("\n", "\\n")] if out else ["<pending>"]
confirm = None
conv = None
for l in sys.stdin.read().splitlines():
    if l.startswith("ctl "):
        o, e = run(["write", "factotum/ctl"], (l[4:]).encode()); e = e.replace(P+"/bin/", "")
        print("ctl ok" if not e else "ctl error: " + e.strip().replace("9p: write error: ", "").replace("write error: ",""))
    elif l == "list":
        o, e = run(["read", "factotum/ctl"]); print(o, end=""); print("--")
    elif l == "newconv":
        conv = Conv(); print("newconv")
    elif l == "rpc-wait":
        for r in conv.wait(): print(r)
    elif l == "confirm-open":
        confirm = Conv("factotum/confirm"); print("confirm open")
    elif l == "confirm-read":
        out, err = confirm.collect()
        for x in out.splitlines():
            if x: print("confirm> " + x)
    elif l.startswith("confirm-write "):
        confirm.p.stdin.write(l[14:].encode()+b"\n"); confirm.p.stdin.flush()
        out, err = confirm.collect()
        for e in err.splitlines():
            if e.startswith("write: "): print("confirm " + e.replace("9p: ", ""))
        for x in out.splitlines():
            if x: print("confirm> " + x)
    elif l.startswith("rpc "):
        if conv is None: conv = Conv()
        for r in conv.rpc(l[4:]): print(r)
