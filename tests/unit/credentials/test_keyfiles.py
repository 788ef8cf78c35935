"""Private key files: 0600, atomic, never overwritten; loading refuses with a named reason."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from issuer.credentials import KeyFileError, generate_ed25519, generate_rsa, load_private_key, write_private_key


def _reason(path: Path, passphrase: bytes | str | None = None) -> str:
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path, passphrase=passphrase)
    assert str(path) in str(caught.value)
    return caught.value.reason


def test_generated_keys_have_the_expected_types_and_sizes() -> None:
    assert isinstance(generate_ed25519(), ed25519.Ed25519PrivateKey)
    key = generate_rsa()
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072
    with pytest.raises(ValueError, match="2048"):
        generate_rsa(1024)


@pytest.mark.parametrize("passphrase", [None, b"correct horse", "unicode pässphrase"])
def test_written_key_is_0600_pkcs8_and_loads_back(tmp_path: Path, passphrase: bytes | str | None) -> None:
    key = generate_ed25519()
    path = tmp_path / "ed.pem"
    write_private_key(path, key, passphrase=passphrase)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert ("ENCRYPTED PRIVATE KEY" in text) == bool(passphrase)
    assert "BEGIN PRIVATE KEY" in text or "BEGIN ENCRYPTED PRIVATE KEY" in text
    loaded = load_private_key(path, passphrase=passphrase)
    assert loaded.public_key() == key.public_key()
    assert [p.name for p in tmp_path.iterdir()] == ["ed.pem"]  # no temporary file left behind


def test_rsa_key_round_trips(tmp_path: Path) -> None:
    key = generate_rsa(2048)
    write_private_key(tmp_path / "rsa.pem", key, passphrase=b"pw")
    assert load_private_key(tmp_path / "rsa.pem", passphrase=b"pw").public_key() == key.public_key()


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "ed.pem"
    write_private_key(path, generate_ed25519(), passphrase=None)
    before = path.read_bytes()
    with pytest.raises(KeyFileError) as caught:
        write_private_key(path, generate_ed25519(), passphrase=None)
    assert caught.value.reason == "exists"
    assert path.read_bytes() == before
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(KeyFileError, match="exists"):
        write_private_key(tmp_path / "dangling", generate_ed25519(), passphrase=None)
    assert not (tmp_path / "nowhere").exists()


def test_missing_file(tmp_path: Path) -> None:
    assert _reason(tmp_path / "absent.pem") == "missing"


def test_symlink_is_refused_even_to_a_good_key(tmp_path: Path) -> None:
    write_private_key(tmp_path / "real.pem", generate_ed25519(), passphrase=None)
    (tmp_path / "link.pem").symlink_to(tmp_path / "real.pem")
    assert _reason(tmp_path / "link.pem") == "symlink"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_group_or_world_accessible_file_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "ed.pem"
    write_private_key(path, generate_ed25519(), passphrase=None)
    path.chmod(mode)
    assert _reason(path) == "permissions"


def test_directory_is_not_a_key_file(tmp_path: Path) -> None:
    (tmp_path / "dir.pem").mkdir(mode=0o700)
    assert _reason(tmp_path / "dir.pem") == "not_a_file"


def test_unreadable_file_via_unreadable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ed.pem"
    write_private_key(path, generate_ed25519(), passphrase=None)

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("issuer.credentials.keyfiles.os.open", refuse)
    assert _reason(path) == "unreadable"


@pytest.mark.parametrize("passphrase", [None, b"pw"])
@pytest.mark.parametrize("keep", [0, 20, 0.5, -40])
def test_truncated_or_corrupt_file_is_corrupt_not_a_wrong_passphrase(
    tmp_path: Path, passphrase: bytes | None, keep: float
) -> None:
    path = tmp_path / "ed.pem"
    write_private_key(path, generate_ed25519(), passphrase=passphrase)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.chmod(0o600)
    os.truncate(path, 0)
    path.write_bytes(data[:cut] if cut else b"")
    assert _reason(path, passphrase) == "corrupt"


def test_garbage_inside_an_intact_pem_armour_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "ed.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n")
    os.close(fd)
    assert _reason(path) == "corrupt"


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "ed.pem"
    write_private_key(path, generate_ed25519(), passphrase=b"right")
    assert _reason(path, b"wrong") == "wrong_passphrase"


def test_encrypted_key_without_passphrase_and_plain_key_with_one(tmp_path: Path) -> None:
    write_private_key(tmp_path / "enc.pem", generate_ed25519(), passphrase=b"pw")
    write_private_key(tmp_path / "plain.pem", generate_ed25519(), passphrase=None)
    assert _reason(tmp_path / "enc.pem", None) == "passphrase_required"
    assert _reason(tmp_path / "plain.pem", b"pw") == "not_encrypted"


def test_loading_never_creates_a_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        load_private_key(tmp_path / "absent.pem", passphrase=None)
    assert list(tmp_path.iterdir()) == []
