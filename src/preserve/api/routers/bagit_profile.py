"""``GET /v1/bagit-profile``: the BagIt profile (BagIt-Profiles 1.4.0) SIP bags must follow."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from preserve.api.deps import runtime
from preserve.ingest.bagit_profile import document
from preserve.ingest.profile import load_profile
from preserve.runtime import Runtime

router = APIRouter(tags=["sips"])


@router.get("/v1/bagit-profile", summary="The BagIt profile of SIP bags (needs no token)")
def bagit_profile(request: Request, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    profile = load_profile(rt.settings.profiles_dir, "default")
    return document(profile, str(request.url_for("bagit_profile")))
