"""Hadamard matrices exactly as R's ``survey::hadamard(n)`` chooses and builds them.

BRR replicate weights agree with R element-wise only with the same matrix, so this follows
``survey:::hadamard``'s choice among Sylvester doublings of its stored matrices (orders 4, 16,
28, 36) and Paley constructions (quadratic residues modulo a prime ``p = 3 mod 4``, bordered),
in 0/1 coding with row 0 all ones. The stored orders 4 and 16 are Sylvester matrices
(generated here); the orders 28 and 36 are constant tables — the matrices of N. J. A. Sloane's
library that R survey ships — printed from R 4.2 / survey 4.1.1 with
``apply(survey:::hadamard.list[[k]], 1, paste, collapse = "")``.
"""

from __future__ import annotations

import numpy as np

_H28 = (
    "1111111111111111111111111111",
    "1001110001110001110001111000",
    "1000001111001101001101111000",
    "1000001110110010111001100110",
    "1001101000001111100011010110",
    "1001010100101100010110101110",
    "1000110011010010001110011110",
    "0101100010101010011111110000",
    "0100010110110101100111010100",
    "0100011011001011110010101100",
    "0101011000010111011101001010",
    "0100101101100100111010011010",
    "0101100101011001101100100110",
    "0010110100011110101011101000",
    "0011011001100110101100110100",
    "0010101100111011010100011100",
    "0011000111010111010010110010",
    "0011001011111000100111001010",
    "0010110011101101011001000110",
    "1110101001010100010111100100",
    "1111000101100011001011001100",
    "1111000010011100111000011100",
    "1110010101001010110101010010",
    "1110011000111001001010110010",
    "1110100010100111100100101010",
    "1101111111111110000000000000",
    "1011111110000001111110000000",
    "0111111110000000000001111110",
)
_H36 = (
    "111111111111111111111111111111111111",
    "010111000111110111001000010101100100",
    "101110001111101110010000101011001000",
    "011100011111011100100001010110010010",
    "111000111110111001000010101100100100",
    "110001111101110010000101011001001010",
    "100011111011100100001010110010010110",
    "000111110111001000010101100100101110",
    "001111101110010000101011001001011100",
    "011111011100100001010110010010111000",
    "111110111001000010101100100101110000",
    "111101110010000101011001001011100010",
    "111011100100001010110010010111000110",
    "110111001000010101100100101110001110",
    "101110010000101011001001011100011110",
    "011100100001010110010010111000111110",
    "111001000010101100100101110001111100",
    "110010000101011001001011100011111010",
    "100100001010110010010111000111110110",
    "001000010101100100101110001111101110",
    "010000101011001001011100011111011100",
    "100001010110010010111000111110111000",
    "000010101100100101110001111101110010",
    "000101011001001011100011111011100100",
    "001010110010010111000111110111001000",
    "010101100100101110001111101110010000",
    "101011001001011100011111011100100000",
    "010110010010111000111110111001000010",
    "101100100101110001111101110010000100",
    "011001001011100011111011100100001010",
    "110010010111000111110111001000010100",
    "100100101110001111101110010000101010",
    "001001011100011111011100100001010110",
    "010010111000111110111001000010101100",
    "100101110001111101110010000101011000",
    "001011100011111011100100001010110010",
)

#: the orders R stores, in R's order (``survey:::hadamard.sizes``)
STORED_SIZES = (4, 16, 28, 36)
#: primes p = 3 (mod 4) up to R's largest Paley prime
_MAX_PRIME = 7919


def _double(h: np.ndarray) -> np.ndarray:
    """Sylvester doubling ``[[H, H], [H, 1 - H]]``."""
    return np.block([[h, h], [h, 1 - h]])


def _stored(k: int) -> np.ndarray:
    if k == 0:
        return _double(_double(np.ones((1, 1), dtype=np.int8)))
    if k == 1:
        return _double(_double(_stored(0)))
    rows = _H28 if k == 2 else _H36
    return np.array([[int(c) for c in r] for r in rows], dtype=np.int8)


def _paley_primes() -> np.ndarray:
    n = _MAX_PRIME + 1
    sieve = np.ones(n, dtype=bool)
    sieve[:2] = False
    for i in range(2, int(n**0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = False
    p = np.flatnonzero(sieve)
    return p[p % 4 == 3]


_PRIMES = _paley_primes()


def _paley_prime(p: int) -> np.ndarray:
    """Bordered Paley matrix of order p + 1: entry (i, j) is 0 when (i + j) mod p is 0 or a
    quadratic residue, else 1."""
    residues = {0} | {(i * i) % p for i in range(1, (p - 1) // 2 + 1)}
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    core = np.where(np.isin(m, list(residues)), 0, 1).astype(np.int8)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = core
    return out


def _paley(n: int, nmax: int) -> np.ndarray | None:
    """R's ``paley(n, nmax)``: a Paley-type matrix of order > n, or None."""
    nceil = nn = n + 4 - (n % 4)
    if (n % 4) + 4 == n % 8:
        while nn % 8 == 0:
            nn //= 2
        if nn - 1 in _PRIMES:
            m = _paley_prime(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > _PRIMES[-1]:
        return None
    p = int(_PRIMES[_PRIMES >= n].min())
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley(nceil + 3, 2 * (nceil + 3))
    if p > nmax:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> np.ndarray:
    """The 0/1 Hadamard matrix R's ``survey::hadamard(n)`` returns (order > n; BRR uses
    row ``j`` for pseudo-stratum ``j = 1..n`` and one replicate per column)."""
    sizes = np.array(STORED_SIZES)
    m = n - (n % 4)
    pre = np.flatnonzero((m < sizes) & (m + 4 >= sizes))
    if pre.size:
        return _stored(int(pre.min()))
    if (m < sizes).all():
        return _stored(0)
    doubles = np.maximum(0, np.ceil(np.log2((n + 1) / sizes))).astype(int)
    fits = sizes * 2**doubles
    best = int(np.argmin(fits - n))
    h = None
    if fits[best] - n > 4:
        h = _paley(n, int(fits[best]))
    if h is None:
        h = _stored(best)
        for _ in range(int(doubles[best])):
            h = _double(h)
    return h
