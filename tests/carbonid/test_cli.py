"""The command line: what each command prints and its exit codes (0 ok, 1 invalid, 2 could not run)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbonid.cli import main
from metadata_templates import default_catalog


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def keys(run):
    for algorithm in ("ed25519", "sm2"):
        assert (
            run(
                "keys", "generate", "--alg", algorithm, "--out", "keys", "--did", "did:web:node.example"
            ).exit_code
            == 0
        )
    return "keys"


def write(name, document):
    with open(name, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    return name


def example(ref):
    return default_catalog().resolve(ref).example_document()


def test_keys_generate_writes_keys_and_a_did_document(run, keys, tmp_path):
    did = json.loads((tmp_path / "keys" / "did.json").read_text())
    assert did["id"] == "did:web:node.example"
    assert len(did["assertionMethod"]) == 2
    assert (tmp_path / "keys" / "sm2.jwk.json").exists()
    assert (tmp_path / "keys" / "ed25519.key").stat().st_mode & 0o777 == 0o600
    again = run("keys", "generate", "--alg", "sm2", "--out", "keys")
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output


def test_templates_list_and_show(run):
    listing = run("templates", "list")
    assert listing.exit_code == 0
    assert "enterprise-profile/1" in listing.output
    assert "企业基本信息 / Enterprise profile" in listing.output
    shown = run("templates", "show", "enterprise-profile")
    assert " 2002  uscc" in shown.output
    assert (
        json.loads(run("templates", "show", "activity-data/1", "--json").output)["items"][0]["idIndex"]
        == 2000
    )
    assert (
        json.loads(run("templates", "show", "product-footprint", "--example").output)["type"]
        == "ProductCarbonForm"
    )
    missing = run("templates", "show", "nope")
    assert missing.exit_code == 2
    assert "no template 'nope'" in missing.output


def test_validate_exit_codes_and_pointers(run):
    assert (
        run("validate", "enterprise-profile", write("ok.json", example("enterprise-profile"))).exit_code == 0
    )
    bad = example("enterprise-profile")
    bad.update(uscc="91330522MA2B3C4D58", region="339999")
    result = run("validate", "enterprise-profile", write("bad.json", bad))
    assert result.exit_code == 1
    assert "bad.json: /region: region code 339999" in result.output
    assert "bad.json: /uscc: USCC 91330522MA2B3C4D58: check digit should be 7" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{", "is not JSON"), (b"\xff\xfe", "not UTF-8")],
)
def test_validate_unreadable_input_exits_2(run, content, message):
    if content is not None:
        with open("input.json", "wb") as handle:
            handle.write(content if isinstance(content, bytes) else content.encode())
    result = run("validate", "activity-data", "input.json")
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1


def test_sign_then_verify_with_both_suites(run, keys):
    document = write("act.json", example("activity-data"))
    assert run("sign", document, "--key", "keys/ed25519.key", "--out", "s1.json").exit_code == 0
    assert run("sign", "s1.json", "--key", "keys/sm2.key", "--out", "s2.json").exit_code == 0
    result = run("verify", "s2.json", "--did-document", "keys/did.json")
    assert result.exit_code == 0
    assert "verified  eddsa-rdfc-2022" in result.output
    assert "verified  sm2-rdfc-2024" in result.output


def test_verify_refuses_a_tampered_document(run, keys):
    run(
        "sign", write("p.json", example("enterprise-profile")), "--key", "keys/ed25519.key", "--out", "s.json"
    )
    signed = json.loads(Path("s.json").read_text())
    signed["address"] = "另一个地址"
    result = run("verify", write("t.json", signed), "--did-document", "keys/did.json")
    assert result.exit_code == 1
    assert "not verified" in result.output
    assert "Ed25519 signature does not verify" in result.output


def test_sign_refuses_an_invalid_template_document(run, keys):
    document = example("activity-data")
    document["period"] = "2025Q1"
    result = run("sign", write("a.json", document), "--key", "keys/ed25519.key")
    assert result.exit_code == 1
    assert "/period" in result.output


def test_sign_refuses_undefined_terms_in_other_json_ld(run, keys):
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "oops": 1,
    }
    result = run("sign", write("vc.json", document), "--key", "keys/ed25519.key")
    assert result.exit_code == 1
    assert "member 'oops' is not defined" in result.output


def test_sign_needs_a_did_document_or_a_method(run, tmp_path):
    run("keys", "generate", "--out", "k")
    (tmp_path / "k" / "did.json").unlink()
    result = run("sign", write("p.json", example("enterprise-profile")), "--key", "k/ed25519.key")
    assert result.exit_code == 2
    assert "pass --did-document or --verification-method" in result.output
    ok = run(
        "sign",
        "p.json",
        "--key",
        "k/ed25519.key",
        "--verification-method",
        "did:web:x.example#k1",
        "--out",
        "s.json",
    )
    assert ok.exit_code == 0
    assert json.loads(Path("s.json").read_text())["proof"]["verificationMethod"] == "did:web:x.example#k1"


def test_sign_with_a_bad_key_file(run):
    with open("bad.key", "w") as handle:
        handle.write("not a key")
    result = run("sign", write("p.json", example("enterprise-profile")), "--key", "bad.key")
    assert result.exit_code == 2
    assert "bad.key: not a PEM document" in result.output
