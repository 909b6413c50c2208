#!/usr/bin/env python3
"""Known answers for Plan 9's DES encrypt() (libsec desmodes.c), computed
with Python's `cryptography` DES as an independent implementation.

Plan 9 expands a 7-byte key to DES's 8 (des56to64) and enciphers a buffer
of n >= 8 bytes block by block at offsets 0, 7, 14, ... ((n-1)//7 blocks),
plus one block aligned to the end when (n-1) % 7 != 0. Prints Rust source
for src/auth/authsrv/des_vectors.rs.
"""
import hashlib
import warnings

warnings.simplefilter("ignore")
from cryptography.hazmat.primitives.ciphers import Cipher, modes  # noqa: E402

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES


def des56to64(k):
    hi = int.from_bytes(k[0:4], "big")
    lo = int.from_bytes(k[4:7] + b"\0", "big")
    groups = [hi >> 25, hi >> 18, hi >> 11, hi >> 4, (hi << 3) | (lo >> 29), lo >> 22, lo >> 15, lo >> 8]
    out = []
    for g in groups:
        v = g & 0x7F
        out.append((v << 1) | ((bin(v).count("1") + 1) & 1))
    return bytes(out)


def des_block(k64, block):
    # Triple DES with three equal keys is single DES.
    enc = Cipher(TripleDES(k64 * 3), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def plan9_encrypt(key7, buf):
    buf = bytearray(buf)
    k64 = des56to64(key7)
    n = len(buf) - 1
    r, n = n % 7, n // 7
    for i in range(n):
        buf[i * 7 : i * 7 + 8] = des_block(k64, bytes(buf[i * 7 : i * 7 + 8]))
    if r:
        s = n * 7 - 7 + r
        buf[s : s + 8] = des_block(k64, bytes(buf[s : s + 8]))
    return bytes(buf)


def main():
    cases = []
    for i, length in enumerate([8, 9, 13, 15, 72, 141]):
        key = hashlib.sha256(b"key%d" % i).digest()[:7]
        plain = (hashlib.sha256(b"plain%d" % i).digest() * 5)[:length]
        cases.append((key, plain, plan9_encrypt(key, plain)))
    print("const VECTORS: &[(&str, &str, &str)] = &[")
    for k, p, c in cases:
        print(f'    ("{k.hex()}", "{p.hex()}", "{c.hex()}"),')
    print("];")


if __name__ == "__main__":
    main()
