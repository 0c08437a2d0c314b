"""The demo runs once in a temporary directory, and what it signs verifies on its own."""

import json

from click.testing import CliRunner

from carbonid.cli import main
from certs.data_integrity import verify_proofs
from certs.did import DidDocument
from handle_registry.codec import decode_resolution, parse_json
from metadata_templates import default_catalog


def test_demo_once(tmp_path):
    data_dir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--data-dir", str(data_dir), "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "mutual TLS on loopback identified peer 88.186.1" in result.output
    did = DidDocument.from_json(json.loads((data_dir / "keys" / "did.json").read_text()))
    records = sorted((data_dir / "records").glob("*.handle.json"))
    assert len(records) == len(default_catalog().list())
    for record in records:
        signed = json.loads(record.with_name(record.name.replace(".handle.json", ".json")).read_text())
        assert len(verify_proofs(signed, did, loader=default_catalog().loader)) == 2
        assert decode_resolution(parse_json(record.read_text())).values
    # A second run reuses the keys.
    again = CliRunner().invoke(main, ["demo", "--data-dir", str(data_dir), "--once"], catch_exceptions=False)
    assert again.exit_code == 0
    assert DidDocument.from_json(json.loads((data_dir / "keys" / "did.json").read_text())) == did
