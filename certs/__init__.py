"""The trust layer: keys, canonicalization, Data Integrity proofs, DID documents, X.509 and TLS.

Pure: no HTTP and no database. Modules:

- `keys`            Ed25519 and SM2 signing keys; PEM, Multikey and JWK forms
- `sm2`             SM2/SM3 signatures over gmssl, with its hazards handled
- `canonical`       offline RDFC-1.0 canonicalization in safe mode
- `data_integrity`  `eddsa-rdfc-2022` and `sm2-rdfc-2024` proofs (see SM2-RDFC-2024.md)
- `did`             did:web documents, key rotation and revocation
- `x509`, `tls`     the federation CA, prefix-bound client certificates, SSL contexts
- `errors`          `VerificationError` and its kin
"""
