"""Health and the archive's public keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, principal, runtime
from preserve.api.schemas import PublicKeyOut
from preserve.runtime import Runtime
from preserve.trust.keys import public_pem

router = APIRouter(tags=["system"])


@router.get("/health")
def health(session: Session = Depends(db)) -> dict[str, str]:
    """Liveness and database reachability; needs no token."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/v1/keys", response_model=list[PublicKeyOut])
def public_keys(
    _: Principal = Depends(principal), rt: Runtime = Depends(runtime)
) -> list[PublicKeyOut]:
    """The public keys that verify the archive's bag, receipt and report signatures."""
    return [
        PublicKeyOut(key_id=kid, algorithm="Ed25519", public_key_pem=public_pem(pub))
        for kid, pub in sorted(rt.trusted_keys().items())
    ]
