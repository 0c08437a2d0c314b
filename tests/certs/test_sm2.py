"""SM2: the GB/T 32918 example, OpenSSL in both directions, and gmssl's three hazards."""

import random
import shutil
import subprocess

import pytest

from certs import sm2
from certs.errors import InvalidSignatureError
from certs.keys import Sm2SigningKey, load_public_key, load_signing_key, save_key_pair

# GM/T 0003.5-2012 (= GB/T 32918.5-2017) Annex A: signature example on the recommended curve.
EXAMPLE_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
EXAMPLE_PUBLIC = (
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
EXAMPLE_Z = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
EXAMPLE_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
EXAMPLE_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
EXAMPLE_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
EXAMPLE_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA


def test_gbt32918_signature_example():
    key = Sm2SigningKey(EXAMPLE_D)
    point = key.public_key.point
    assert point.xy.hex().upper() == EXAMPLE_PUBLIC
    assert sm2.z_value(point).hex().upper() == EXAMPLE_Z
    digest = sm2.message_digest(point, b"message digest")
    assert digest.hex().upper() == EXAMPLE_E
    assert sm2.sign_digest(EXAMPLE_D, digest, nonce=EXAMPLE_K) == (EXAMPLE_R, EXAMPLE_S)
    key.public_key.verify(sm2.signature_to_raw(EXAMPLE_R, EXAMPLE_S), b"message digest")


def test_sm3_standard_example():
    # GB/T 32905-2016 Annex A.1: SM3("abc").
    assert sm2.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def _key_whose_public_hex_starts_with(prefixes):
    while True:
        key = Sm2SigningKey.generate()
        if key.public_key.point.xy.hex()[0] in prefixes:
            return key


@pytest.mark.parametrize("leading", ["0", "4"])
def test_keys_with_leading_0_or_4_hex_still_verify(leading):
    # gmssl's constructor strips every leading '0'/'4' character of the key; we must not let it.
    key = _key_whose_public_hex_starts_with(leading)
    key.public_key.verify(key.sign(b"payload"), b"payload")


def test_nonce_does_not_come_from_the_random_module():
    key = Sm2SigningKey.generate()
    random.seed(1234)
    first = key.sign(b"same message")
    random.seed(1234)
    second = key.sign(b"same message")
    assert first != second


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (sm2.N, 1), (1, sm2.N), (sm2.N + 5, 7), (5, sm2.N - 5)],
)
def test_r_and_s_outside_range_are_refused(r, s):
    key = Sm2SigningKey.generate()
    with pytest.raises(InvalidSignatureError):
        sm2.verify(key.public_key.point, b"m", r, s)


def test_a_signature_shifted_by_n_is_refused():
    key = Sm2SigningKey.generate()
    r, s = sm2.signature_from_raw(key.sign(b"m"))
    with pytest.raises(InvalidSignatureError, match="outside"):
        sm2.verify(key.public_key.point, b"m", r + sm2.N, s)


def test_other_user_id_fails():
    key = Sm2SigningKey.generate()
    r, s = sm2.signature_from_raw(key.sign(b"m"))
    with pytest.raises(InvalidSignatureError):
        sm2.verify(key.public_key.point, b"m", r, s, user_id=b"ALICE123@YAHOO.COM")


def test_compressed_points_decompress_to_the_same_point():
    for _ in range(5):
        point = Sm2SigningKey.generate().public_key.point
        assert sm2.Sm2Point.from_bytes(point.compressed) == point
        assert sm2.Sm2Point.from_bytes(point.uncompressed) == point


def _openssl_with_sm2():
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command line is not installed")
    listing = subprocess.run([openssl, "list", "-public-key-algorithms"], capture_output=True, text=True)
    if "sm2" not in listing.stdout.lower():
        pytest.skip("this openssl has no SM2")
    return openssl


@pytest.mark.interop
def test_openssl_verifies_a_carbonid_signature(tmp_path):
    openssl = _openssl_with_sm2()
    key = Sm2SigningKey.generate()
    save_key_pair(key, tmp_path, "ours")
    message = "碳效 carbon-efficiency record".encode()
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig.der").write_bytes(key.sign_der(message))
    verify = [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "ours.pub.pem", "-rawin", "-in", "msg"]
    verify += ["-sigfile", "sig.der", "-digest", "sm3"]
    ok = subprocess.run(
        [*verify, "-pkeyopt", "distid:1234567812345678"], cwd=tmp_path, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Verified Successfully" in ok.stdout
    # OpenSSL's default distinguishing id is empty: the same signature must then fail.
    assert subprocess.run(verify, cwd=tmp_path, capture_output=True).returncode != 0


@pytest.mark.interop
def test_carbonid_verifies_an_openssl_signature_and_loads_its_keys(tmp_path):
    openssl = _openssl_with_sm2()
    subprocess.run([openssl, "genpkey", "-algorithm", "SM2", "-out", "theirs.key"], cwd=tmp_path, check=True)
    subprocess.run(
        [openssl, "pkey", "-in", "theirs.key", "-pubout", "-out", "theirs.pub"], cwd=tmp_path, check=True
    )
    message = b"signed by OpenSSL"
    (tmp_path / "msg").write_bytes(message)
    sign = [openssl, "pkeyutl", "-sign", "-inkey", "theirs.key", "-rawin", "-in", "msg", "-out", "sig.der"]
    subprocess.run([*sign, "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"], cwd=tmp_path, check=True)
    public = load_public_key((tmp_path / "theirs.pub").read_bytes())
    assert load_signing_key((tmp_path / "theirs.key").read_bytes()).public_key == public
    public.verify_der((tmp_path / "sig.der").read_bytes(), message)
    with pytest.raises(InvalidSignatureError):
        public.verify_der((tmp_path / "sig.der").read_bytes(), message + b"!")


@pytest.mark.interop
def test_openssl_reads_carbonid_private_key_files(tmp_path):
    openssl = _openssl_with_sm2()
    key = Sm2SigningKey.generate()
    save_key_pair(key, tmp_path, "ours")
    out = subprocess.run(
        [openssl, "pkey", "-in", "ours.key", "-pubout"], cwd=tmp_path, capture_output=True, check=True
    )
    assert load_public_key(out.stdout) == key.public_key
