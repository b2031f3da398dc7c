"""List, read, create and update routes for every record type, built from one table.

Every record type has the same four routes; ``COLLECTIONS`` says, per type, where it lives (its
schemas derive from the service's ``Resource``), and ``collection_router`` builds the routes over
the audited ``crud`` services. The list filters come from the service's ``Resource.filters``,
typed like the output field of the same name, so the OpenAPI document lists the choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from phasegate.api import schemas as s
from phasegate.api.deps import Actor, Uow
from phasegate.api.errors import ERROR_RESPONSES
from phasegate.domain.errors import invalid
from phasegate.services import builds, crud, products, quality
from phasegate.services.crud import Resource
from phasegate.services.paging import MAX_PAGE, Page
from phasegate.services.products import resolve_product
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True)
class Collection:
    """One record type as the API shows it; its schemas derive from the service's ``Resource``."""

    resource: Resource[Any]
    path: str  # "/defect-codes"
    product_owned: bool = False  # lists take ?product=KEY
    # Finds a record by the text in its URL (products: id or key); None: by integer id.
    find: Callable[[UnitOfWork, str], Any] | None = None

    @property
    def create(self) -> type[s.Input]:
        return s.record_schemas(self.resource).create

    @property
    def update(self) -> type[s.Input]:
        return s.record_schemas(self.resource).update

    @property
    def out(self) -> type[s.RecordOut]:
        return s.record_schemas(self.resource).out

    @property
    def plural(self) -> str:
        return self.path.strip("/").replace("-", " ")

    @property
    def singular(self) -> str:
        return self.resource.name

    @property
    def tag(self) -> str:
        return self.plural.capitalize()

    def operation_id(self, verb: str, *, many: bool = False) -> str:
        return f"{verb}_{(self.plural if many else self.singular).replace(' ', '_')}"


COLLECTIONS: tuple[Collection, ...] = (
    Collection(products.PRODUCTS, "/products", find=resolve_product),
    Collection(products.REVISIONS, "/revisions", product_owned=True),
    Collection(products.REQUIREMENTS, "/requirements", product_owned=True),
    Collection(products.CHARACTERISTICS, "/characteristics", product_owned=True),
    Collection(builds.PARTNERS, "/partners"),
    Collection(builds.LINES, "/lines"),
    Collection(builds.STATIONS, "/stations"),
    Collection(builds.BUILDS, "/builds", product_owned=True),
    Collection(builds.UNITS, "/units", product_owned=True),
    Collection(quality.FINDINGS, "/findings", product_owned=True),
    Collection(quality.FEEDBACK, "/feedback", product_owned=True),
    Collection(quality.DEFECT_CODES, "/defect-codes"),
)


class ListQuery(BaseModel):
    """Paging; every list adds its own filters, and a text search where it has one."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Records per page.")
    offset: int = Field(0, ge=0, description="Records to skip.")


class ProductListQuery(ListQuery):
    product: str | None = Field(None, description="Only records of this product (key or id).")


_PAGING = {"limit", "offset", "q", "product"}
IdPath = Annotated[int, Path(ge=1, le=s.MAX_ID, description="The record's id.")]
RefPath = Annotated[str, Path(description="The record's id or key.")]


def query_model(collection: Collection) -> type[ListQuery]:
    """The query parameters of a list: paging, search and the resource's filters."""
    out_fields = collection.out.model_fields
    filters: dict[str, Any] = {}
    for name in collection.resource.filters:
        annotation: Any = s.RecordId if name.endswith("_id") else out_fields[name].annotation
        filters[name] = (annotation | None, Field(None, description=f"Only this {name}."))
    if collection.resource.search:
        searched = ", ".join(collection.resource.search)
        filters["q"] = (str | None, Field(None, description=f"Text found in {searched}."))
    base = ProductListQuery if collection.product_owned else ListQuery
    model_name = collection.singular.title().replace(" ", "") + "Query"
    return cast(type[ListQuery], create_model(model_name, __base__=base, **filters))


def product_filter(uow: UnitOfWork, ref: str, product_id: int | None) -> int:
    """The id of the product ``?product=`` names; it must agree with ``?product_id=``."""
    product = resolve_product(uow, ref)
    if product_id is not None and product_id != product.id:
        raise invalid("product", f"{ref!r} is product {product.id}, not product_id {product_id}")
    return product.id


def page_of(out: type[s.Output], page: Page[Any]) -> s.Page[Any]:
    items = [out.from_record(item) for item in page.items]
    return s.Page[Any](items=items, total=page.total, limit=page.limit, offset=page.offset)


E = TypeVar("E", bound=Callable[..., Any])


def with_schemas(endpoint: E, **annotations: Any) -> E:
    """Give FastAPI this collection's schema classes for parameters typed with their base."""
    endpoint.__annotations__.update(annotations)
    return endpoint


def collection_router(collection: Collection) -> APIRouter:
    """The list, get, create and update routes of one record type."""
    resource = collection.resource
    Out = collection.out
    one, many = collection.singular, collection.plural
    router = APIRouter(prefix=collection.path, tags=[collection.tag], responses=ERROR_RESPONSES)
    filters_named = ("product", *resource.filters) if collection.product_owned else resource.filters
    searched = f"; `q` searches {', '.join(resource.search)}" if resource.search else ""

    def list_records(query: Annotated[ListQuery, Query()], uow: Uow) -> Any:
        filters = query.model_dump(exclude=_PAGING, exclude_none=True)
        ref = getattr(query, "product", None)
        if ref is not None:
            filters["product_id"] = product_filter(uow, ref, filters.get("product_id"))
        q = getattr(query, "q", None)
        page = crud.list_page(
            uow, resource, filters=filters, q=q, limit=query.limit, offset=query.offset
        )
        return page_of(Out, page)

    router.add_api_route(
        "",
        with_schemas(list_records, query=Annotated[query_model(collection), Query()]),
        methods=["GET"],
        response_model=s.Page[Out],  # type: ignore[valid-type]
        summary=f"List {many}",
        description=f"One page of {many}, filtered by any of: {', '.join(filters_named)}"
        f"{searched}.",
        operation_id=collection.operation_id("list", many=True),
    )

    def create_record(
        body: s.Input, request: Request, response: Response, uow: Uow, actor: Actor
    ) -> Any:
        record = crud.create(uow, resource, body.model_dump(exclude_unset=True), actor=actor)
        response.headers["Location"] = f"{request.url.path}/{record.id}"
        return Out.from_record(record)

    router.add_api_route(
        "",
        with_schemas(create_record, body=collection.create),
        methods=["POST"],
        status_code=201,
        response_model=Out,
        summary=f"Create a {one}",
        description=f"Validate and store a new {one}; the change is audited.",
        response_description=f"The new {one}; the `Location` header is its URL.",
        operation_id=collection.operation_id("create"),
    )

    if collection.find is not None:
        find = collection.find

        def get_by_ref(ref: RefPath, uow: Uow) -> Any:
            return Out.from_record(find(uow, ref))

        def update_by_ref(ref: RefPath, body: s.Input, uow: Uow, actor: Actor) -> Any:
            ident = find(uow, ref).id
            changes = body.model_dump(exclude_unset=True)
            return Out.from_record(crud.update(uow, resource, ident, changes, actor=actor))

        get_one, update_one, path = get_by_ref, update_by_ref, "/{ref}"
        how = " by id or key"
    else:

        def get_by_id(id: IdPath, uow: Uow) -> Any:
            return Out.from_record(crud.get(uow, resource, id))

        def update_by_id(id: IdPath, body: s.Input, uow: Uow, actor: Actor) -> Any:
            changes = body.model_dump(exclude_unset=True)
            return Out.from_record(crud.update(uow, resource, id, changes, actor=actor))

        get_one, update_one, path = get_by_id, update_by_id, "/{id}"  # type: ignore[assignment]
        how = ""

    router.add_api_route(
        path,
        get_one,
        methods=["GET"],
        response_model=Out,
        summary=f"Get a {one}{how}",
        operation_id=collection.operation_id("get"),
    )
    router.add_api_route(
        path,
        with_schemas(update_one, body=collection.update),
        methods=["PATCH"],
        response_model=Out,
        summary=f"Update a {one}{how}",
        description="Change only the fields given; the change is audited.",
        operation_id=collection.operation_id("update"),
    )
    return router
