"""Keys: RFC 8032 known answers, serialisation round trips, refusals."""

import json
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certs.errors import InvalidSignatureError, KeyFormatError
from certs.keys import (
    Ed25519SigningKey,
    KeyAlgorithm,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    public_key_from_jwk,
    public_key_from_multibase,
    save_key_pair,
)

# RFC 8032 §7.1, TEST 1-3: (secret key, public key, message, signature).
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_known_answers(secret, public, message, signature):
    key = Ed25519SigningKey.from_seed(bytes.fromhex(secret))
    assert key.public_key.raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    key.public_key.verify(bytes.fromhex(signature), bytes.fromhex(message))


def test_ed25519_multikey_has_the_z6mk_prefix():
    key = Ed25519SigningKey.from_seed(bytes.fromhex(RFC8032_VECTORS[0][0]))
    assert key.public_key.multibase.startswith("z6Mk")


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_every_serialisation_round_trips(algorithm, tmp_path):
    key = generate_signing_key(algorithm)
    public = key.public_key
    assert load_signing_key(key.private_pem()).public_key == public
    assert load_public_key(public.pem()) == public
    assert public_key_from_multibase(public.multibase) == public
    assert public_key_from_jwk(json.loads(json.dumps(public.jwk()))) == public
    private_path, public_path = save_key_pair(key, tmp_path / "keys", "node")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert load_signing_key(private_path.read_bytes()).public_key == public
    assert load_public_key(public_path.read_bytes()) == public


def test_sm2_multikey_uses_multicodec_0x1206_and_the_compressed_point():
    public = generate_signing_key("sm2").public_key
    assert public.multicodec[:2] == bytes([0x86, 0x24])
    assert len(public.multicodec) == 2 + 33
    assert public.multicodec[2] in (2, 3)
    assert public.multibase.startswith("zEPJ")


def test_private_key_repr_shows_no_secret():
    key = generate_signing_key("ed25519")
    assert "PRIVATE" not in repr(key)
    assert key.public_key.multibase in repr(key)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"not a pem", "not a PEM document"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "expected a PRIVATE KEY"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "base64"),
    ],
)
def test_bad_private_key_files_are_refused(bad, message):
    with pytest.raises(KeyFormatError, match=message):
        load_signing_key(bad)


def test_an_rsa_key_is_refused_with_its_type():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFormatError, match="RSAPublicKey"):
        load_public_key(pem)


@pytest.mark.parametrize(
    "value",
    ["z6Mk", "mABCD", "zzzz0OIl", "z" + "1" * 40],
)
def test_bad_multibase_keys_are_refused(value):
    with pytest.raises(KeyFormatError):
        public_key_from_multibase(value)


def test_a_point_off_the_curve_is_refused():
    public = generate_signing_key("sm2").public_key
    jwk = public.jwk()
    jwk["y"] = jwk["x"]
    with pytest.raises(KeyFormatError, match="not on the SM2 curve"):
        public_key_from_jwk(jwk)


@pytest.mark.parametrize(
    "jwk", [{"kty": "RSA"}, {"kty": "OKP", "crv": "X25519", "x": "AA"}, {"kty": "EC", "crv": "P-256"}]
)
def test_unsupported_jwks_are_refused(jwk):
    with pytest.raises(KeyFormatError, match="unsupported JWK"):
        public_key_from_jwk(jwk)


ED25519 = generate_signing_key("ed25519")
SM2 = generate_signing_key("sm2")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=512))
def test_ed25519_sign_then_verify(message):
    ED25519.public_key.verify(ED25519.sign(message), message)


@settings(max_examples=15, deadline=None)
@given(st.binary(max_size=256))
def test_sm2_sign_then_verify(message):
    SM2.public_key.verify(SM2.sign(message), message)


@settings(max_examples=15, deadline=None)
@given(
    st.binary(min_size=1, max_size=64),
    st.integers(min_value=0, max_value=63),
    st.integers(min_value=1, max_value=255),
)
def test_any_flipped_signature_byte_fails(message, position, flip):
    for key in (ED25519, SM2):
        signature = bytearray(key.sign(message))
        signature[position] ^= flip
        with pytest.raises(InvalidSignatureError):
            key.public_key.verify(bytes(signature), message)
