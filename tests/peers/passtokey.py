#!/usr/bin/env python3
"""Plan 9's passtokey (libauthsrv/passtokey.c), transcribed independently of
warden, with DES from the openssl command (legacy provider). Prints
`password<TAB>hex key` for each argument. Used to produce the vectors in
src/auth/keyfs/account.rs and by the keyfs peer test."""
import subprocess
import sys

ANAMELEN = 28
DESKEYLEN = 7


def des56to64(k):
    hi = (k[0] << 24) | (k[1] << 16) | (k[2] << 8) | k[3]
    lo = (k[4] << 24) | (k[5] << 16) | (k[6] << 8)
    return bytes(x & 0xFF for x in [hi >> 24, hi >> 17, hi >> 10, hi >> 3,
                                    (hi << 4) | (lo >> 28), lo >> 21, lo >> 14, lo >> 7])


def des_ecb(key7, block):
    out = subprocess.run(
        ["openssl", "enc", "-des-ecb", "-nopad", "-K", des56to64(key7).hex(),
         "-provider", "legacy", "-provider", "default"],
        input=bytes(block), capture_output=True, check=True).stdout
    assert len(out) == 8
    return out


def passtokey(p):
    n = min(len(p), ANAMELEN - 1)
    buf = bytearray(b" " * ANAMELEN)
    buf[:n] = p[:n]
    buf[n] = 0
    t = 0
    while True:
        key = bytes(((buf[t + i] >> i) + (buf[t + i + 1] << (8 - (i + 1)))) & 0xFF
                    for i in range(DESKEYLEN))
        if n <= 8:
            return key
        n -= 8
        t += 8
        if n < 8:
            t -= 8 - n
            n = 8
        buf[t:t + 8] = des_ecb(key, buf[t:t + 8])


for a in sys.argv[1:]:
    print(a + "\t" + passtokey(a.encode()).hex())
