from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.deps import SessionDep
from api.centers import service
from api.centers.schemas import CenterOut, RegionOut, ResolveOut, RouteOut

router = APIRouter(prefix="/api/v1/centers", tags=["centers"])


@router.get("", response_model=list[CenterOut])
async def list_centers(session: SessionDep) -> list[CenterOut]:
    return [CenterOut.of(c) for c in await service.list_centers(session)]


@router.get("/resolve", response_model=ResolveOut)
async def resolve(session: SessionDep, address: Annotated[str, Query(max_length=300)]) -> ResolveOut:
    """The centre for a factory address; ambiguous names give candidates (center null) to choose from."""
    resolved = await service.resolve_address(session, address)

    def route_out(r: service.Routed) -> RouteOut:
        return RouteOut(center=CenterOut.of(r.center), region=RegionOut(sido=r.region.sido, sigungu=r.region.sigungu))

    if resolved.routed is not None:
        out = route_out(resolved.routed)
        return ResolveOut(center=out.center, region=out.region, candidates=[])
    return ResolveOut(center=None, region=None, candidates=[route_out(c) for c in resolved.candidates])
