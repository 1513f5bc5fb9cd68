"""``/api/products/{id}``: cacheable detail (``X-Cache``) and an update that invalidates it."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from labkit.app.openapi import error_responses
from labkit.app.state import LabState, lab_state

router = APIRouter(tags=["products"])

PRODUCT = (
    "SELECT p.id, p.name, p.description, p.price_cents, p.stock, p.view_count, p.sales_count, "
    "p.updated_at, c.id AS category_id, c.name AS category_name "
    "FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = ?"
)
ProductId = Annotated[int, Path(ge=1, le=2**62)]


def integral_float_to_int(value: Any) -> Any:
    """JSON Schema counts ``7.0`` as an integer (a number with no fraction); booleans and
    strings stay what they are, so the strict check below rejects them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInteger = Annotated[StrictInt, BeforeValidator(integral_float_to_int)]


class ProductUpdate(BaseModel):
    """Fields a client may change; anything else is rejected (422)."""

    # At least one field (the schema says so; an empty object is answered 400).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # Strict, as JSON Schema's "integer": ``false`` or ``"3"`` is not one, ``5`` is no name.
    # Leave a field out to keep it; ``null`` is not a value (422).
    name: StrictStr = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]
    price_cents: JsonInteger = Field(default=None, ge=0, le=10**9)  # type: ignore[assignment]
    stock: JsonInteger = Field(default=None, ge=0, le=10**9)  # type: ignore[assignment]


def product_body(row: dict[str, Any]) -> dict[str, Any]:
    category = {"id": row.pop("category_id"), "name": row.pop("category_name")}
    return {**row, "category": category}


def cache_key(product_id: int) -> str:
    return f"product:{product_id}"


@router.get("/api/products/{product_id}", responses=error_responses(404))
async def get_product(
    state: Annotated[LabState, Depends(lab_state)], product_id: ProductId
) -> Response:
    async def load() -> dict[str, Any] | None:
        row = await state.db.fetchone(PRODUCT, (product_id,))
        return product_body(row) if row is not None else None

    body, cache_status = await state.cached(cache_key(product_id), load)
    if body is None:
        raise HTTPException(status_code=404, detail=f"no product with id {product_id}")
    return state.respond(body, headers={"X-Cache": cache_status} if cache_status else None)


@router.put("/api/products/{product_id}", responses=error_responses(400, 404))
async def update_product(
    state: Annotated[LabState, Depends(lab_state)], product_id: ProductId, update: ProductUpdate
) -> Response:
    changes = update.model_dump(exclude_unset=True)
    if not changes:
        raise HTTPException(
            status_code=400, detail="nothing to update: give name, price_cents or stock"
        )
    # Column names come from the model's fixed field names, never from the request text.
    assignments = ", ".join(f"{column} = ?" for column in changes)
    changed = await state.db.execute(
        f"UPDATE products SET {assignments}, updated_at = max(updated_at + 1, ?) WHERE id = ?",
        (*changes.values(), int(time.time()), product_id),
    )
    if changed == 0:
        raise HTTPException(status_code=404, detail=f"no product with id {product_id}")
    if state.cache is not None:
        await state.cache.invalidate(cache_key(product_id))
    row = await state.db.fetchone(PRODUCT, (product_id,))
    return state.respond(product_body(row) if row else {})
