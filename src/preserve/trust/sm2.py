"""SM2 signatures (GB/T 32918, with SM3 and the default distinguishing id) by the system OpenSSL.

Why the ``openssl`` command rather than a Python package: ``cryptography`` has SM3 but no SM2;
``gmssl`` (pure Python) draws its signing nonce from ``random`` (not a CSPRNG), which can leak
the private key; ``tongsuopy`` bundles a 2023 Tongsuo build that no longer gets fixes. The
system OpenSSL 3 is maintained, patched by the distribution, and signs SM2 natively. A
signature costs one short process (a few milliseconds), and we sign once per AIP and per log
checkpoint, so the process cost does not matter.

The distinguishing id is the standard default ``1234567812345678`` (GB/T 35276 §5.1), which
every other implementation assumes. Signatures are DER ``SEQUENCE { r, s }``. The private key is
PKCS#8 PEM, encrypted with AES-256-CBC when a passphrase is set; the passphrase reaches OpenSSL
through the child's environment, never its command line. Data goes through standard input.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from preserve.durable import write_file
from preserve.errors import ConfigurationError, IntegrityError

DISTID = "1234567812345678"
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
_PASS_ENV = "PRESERVE_SM2_PASSPHRASE_FOR_OPENSSL"
ALGORITHM = "SM2-with-SM3"


def openssl() -> str:
    found = shutil.which("openssl")
    if found is None:
        raise ConfigurationError("SM2 signatures need the 'openssl' command (OpenSSL 3)")
    return found


def _run(
    args: list[str], data: bytes, passphrase: str | None = None
) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if passphrase:
        env[_PASS_ENV] = passphrase
    return subprocess.run(
        [openssl(), *args], input=data, capture_output=True, env=env, timeout=60, check=False
    )


@dataclass(frozen=True)
class Sm2PublicKey:
    """An SM2 public key: the uncompressed point, and its key id (as for Ed25519, the first 16
    hex digits of the SHA-256 of the raw public key)."""

    point: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.point).hexdigest()[:16]

    def pem(self) -> str:
        body = base64.encodebytes(_SPKI_PREFIX + self.point).decode("ascii").replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"

    @classmethod
    def from_pem(cls, pem: str) -> Sm2PublicKey:
        try:
            body = "".join(
                line for line in pem.strip().splitlines() if not line.startswith("-----")
            )
            der = base64.b64decode(body, validate=True)
        except (ValueError, AttributeError) as exc:
            raise IntegrityError(f"SM2 public key is malformed: {exc}") from exc
        if len(der) != len(_SPKI_PREFIX) + 65 or not der.startswith(_SPKI_PREFIX):
            raise IntegrityError("not an SM2 public key (SubjectPublicKeyInfo with curve SM2)")
        return cls(der[len(_SPKI_PREFIX) :])

    def verify(self, signature: bytes, message: bytes) -> bool:
        with tempfile.TemporaryDirectory(prefix="preserve-sm2-") as tmp:
            pub, sig = Path(tmp, "key.pem"), Path(tmp, "sig.der")
            pub.write_text(self.pem(), encoding="ascii")
            sig.write_bytes(signature)
            args = ["pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin"]
            args += ["-digest", "sm3", "-pkeyopt", f"distid:{DISTID}", "-sigfile", str(sig)]
            result = _run(args, message)
        return result.returncode == 0 and b"Verified Successfully" in result.stdout


@dataclass(frozen=True)
class Sm2PrivateKey:
    """A private key file under the keys directory; the key never leaves it."""

    path: Path
    public: Sm2PublicKey
    passphrase: str | None = None
    algorithm: str = ALGORITHM

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def public_pem(self) -> str:
        return self.public.pem()

    def sign(self, message: bytes) -> bytes:
        args = ["pkeyutl", "-sign", "-inkey", str(self.path), "-rawin", "-digest", "sm3"]
        args += ["-pkeyopt", f"distid:{DISTID}"]
        if self.passphrase:
            args += ["-passin", f"env:{_PASS_ENV}"]
        result = _run(args, message, self.passphrase)
        if result.returncode != 0 or not result.stdout:
            raise ConfigurationError(f"SM2 signing failed: {_first_line(result.stderr)}")
        return result.stdout


def generate(path: Path, passphrase: str | None = None) -> Sm2PrivateKey:
    """Make a new SM2 key at ``path`` (created 0600, never overwritten)."""
    args = ["genpkey", "-algorithm", "SM2"]
    if passphrase:
        args += ["-aes-256-cbc", "-pass", f"env:{_PASS_ENV}"]
    result = _run(args, b"", passphrase)
    if result.returncode != 0:
        raise ConfigurationError(f"SM2 key generation failed: {_first_line(result.stderr)}")
    if not write_file(path, result.stdout, mode=0o600, exclusive=True):
        raise FileExistsError(path)  # never overwrite a key
    return load(path, passphrase)


def load(path: Path, passphrase: str | None = None) -> Sm2PrivateKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(
            f"SM2 key {path} is readable by others (mode {mode:o}); run chmod 600 on it"
        )
    args = ["pkey", "-in", str(path), "-pubout"]
    if passphrase:
        args += ["-passin", f"env:{_PASS_ENV}"]
    result = _run(args, b"", passphrase)
    if result.returncode != 0:
        raise ConfigurationError(
            f"cannot load SM2 key {path}: wrong or missing PRESERVE_KEY_PASSPHRASE? "
            f"({_first_line(result.stderr)})"
        )
    try:
        public = Sm2PublicKey.from_pem(result.stdout.decode("ascii"))
    except IntegrityError as exc:
        raise ConfigurationError(f"{path} is not an SM2 key: {exc}") from exc
    return Sm2PrivateKey(path, public, passphrase)


def _first_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"
