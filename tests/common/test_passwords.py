"""Secret hashes: salted, checked in constant time, and cached only after a success."""

from common.passwords import SecretChecker, check_secret, hash_secret, new_secret


def test_hash_and_check():
    secret = new_secret()
    stored = hash_secret(secret)
    assert stored.startswith("scrypt$")
    assert secret not in stored
    assert check_secret(secret, stored)
    assert not check_secret(secret + "x", stored)
    assert hash_secret(secret) != stored  # salted


def test_malformed_hashes_never_match():
    for stored in ("", "plain", "scrypt$1$2$3$bad$bad", "bcrypt$x$y$z$a$b"):
        assert not check_secret("secret", stored)


def test_checker_caches_successes_only():
    checker = SecretChecker()
    stored = hash_secret("right")
    assert not checker.check("wrong", stored)
    assert checker.check("right", stored)
    assert checker.check("right", stored)
    assert not checker.check("wrong", stored)
    assert not checker.check("right", hash_secret("other"))
